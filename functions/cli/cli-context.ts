import type { PoolConfig } from 'pg';
import { ConfigurationError } from '../shared/errors';
import {
  FENCE_DB_SSL_MODES,
  type FenceDbSslMode,
  fenceDbConnectionFromUrl,
} from '../shared/registry/fence-db-connection';
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

/**
 * Fence DB's connection for `db migrate` and `sync`: its URL (`databaseUrl`) under `FENCE_DB_SSL`
 * (default `verify`: TLS with the CA and host name checked). A URL asking for less than that
 * mode is a usage mistake, refused before anything connects.
 */
export function fenceDbConnection(context: CliContext, option: string | undefined): PoolConfig {
  const url = databaseUrl(context, option);
  try {
    return fenceDbConnectionFromUrl(url, fenceDbSslMode(context.env));
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    throw error;
  }
}

/** `FENCE_DB_SSL`, `verify` when unset. */
function fenceDbSslMode(env: NodeJS.ProcessEnv): FenceDbSslMode {
  const mode = env.FENCE_DB_SSL || 'verify';
  if (!(FENCE_DB_SSL_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`FENCE_DB_SSL must be one of ${FENCE_DB_SSL_MODES.join(', ')}, not "${mode}"`);
  }
  return mode as FenceDbSslMode;
}

/** A positive integer option. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new UsageError(`${name} must be a positive integer`);
    return number;
  };
}
