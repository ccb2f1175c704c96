import type { AdminOperations } from './admin-operations';
import type { CliIo, OutputOptions } from './output';

/** The options every command inherits from `fence-buckets` itself. */
export interface GlobalOptions {
  json?: boolean;
  api?: string;
  profile?: string;
  region?: string;
  table?: string;
  prefix?: string;
}

/** What every command gets: where to write, the admin operations (built on first use), output settings. */
export interface CliContext {
  io: CliIo;
  /** The environment the CLI runs in (settings such as `FENCE_DB_URL`; `migrate` wires its own core from it). */
  env: NodeJS.ProcessEnv;
  operations: () => AdminOperations;
  output: () => OutputOptions;
  /** Set by a command that finished but must report failure (e.g. a failing validation). */
  exitCode: number;
}

/** A usage mistake the command found itself (commander finds the rest): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `a,b,c` → ['a', 'b', 'c']. */
export function commaSeparated(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Fence DB's URL: `--database-url`, else `FENCE_DB_URL`. */
export function databaseUrl(context: CliContext, option: string | undefined): string {
  const url = option ?? context.env.FENCE_DB_URL;
  if (!url) throw new UsageError('name Fence DB: --database-url postgres://… or FENCE_DB_URL');
  return url;
}

/** A positive integer option. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new UsageError(`${name} must be a positive integer`);
    return number;
  };
}
