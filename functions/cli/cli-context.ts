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
  operations: () => AdminOperations;
  output: () => OutputOptions;
  /** Set by a command that finished but must report failure (e.g. a failing validation). */
  exitCode: number;
  /** The environment `runCli` was given, for commands that wire their own core (`migrate`). */
  env?: NodeJS.ProcessEnv;
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

/** A positive integer option. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new UsageError(`${name} must be a positive integer`);
    return number;
  };
}
