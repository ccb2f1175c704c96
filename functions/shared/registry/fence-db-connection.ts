import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Pool, type PoolConfig } from 'pg';
import * as z from 'zod/mini';
import { ConfigurationError } from '../errors';
import { describeIssue } from '../validation';

/**
 * How the connection to Fence DB is secured (`FENCE_DB_SSL`): `verify` is libpq's `verify-full`
 * (TLS, a trusted CA and the host name), `require` TLS without checking the certificate,
 * `disable` no TLS. Every entry defaults to `verify`; the weaker ones must be set explicitly.
 */
export const FENCE_DB_SSL_MODES = ['verify', 'require', 'disable'] as const;
export type FenceDbSslMode = (typeof FENCE_DB_SSL_MODES)[number];

/**
 * What each mode guarantees, weakest first. libpq's `allow` and `prefer` rank with `disable`:
 * they fall back to plain text when the server (or whoever answers in its place) says no TLS.
 * `no-verify` and `ssl=…` are node-postgres's own spellings.
 */
const TLS_STRENGTH = { none: 0, encrypted: 1, ca: 2, full: 3 } as const;
type TlsStrength = (typeof TLS_STRENGTH)[keyof typeof TLS_STRENGTH];
const MODE_STRENGTH: Record<FenceDbSslMode, TlsStrength> = {
  disable: TLS_STRENGTH.none,
  require: TLS_STRENGTH.encrypted,
  verify: TLS_STRENGTH.full,
};
const URL_SSLMODE_STRENGTH: Record<string, TlsStrength> = {
  disable: TLS_STRENGTH.none,
  allow: TLS_STRENGTH.none,
  prefer: TLS_STRENGTH.none,
  require: TLS_STRENGTH.encrypted,
  'no-verify': TLS_STRENGTH.encrypted,
  'verify-ca': TLS_STRENGTH.ca,
  'verify-full': TLS_STRENGTH.full,
};
const URL_SSL_STRENGTH: Record<string, TlsStrength> = {
  false: TLS_STRENGTH.none,
  '0': TLS_STRENGTH.none,
  'no-verify': TLS_STRENGTH.encrypted,
  true: TLS_STRENGTH.full,
  '1': TLS_STRENGTH.full,
};
/**
 * The URL's TLS parameters. The broker reads them itself and hands node-postgres a URL without
 * them: node-postgres lets a URL's `sslmode` replace the `ssl` setting it is given, which is how a
 * `?sslmode=disable` in a secret or a shell variable silently turned verification off.
 */
const URL_TLS_PARAMETERS = ['sslmode', 'ssl', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'];

const text = z.string().check(z.minLength(1));

/**
 * Fence DB's connection as a secret holds it: the shape of an RDS database secret
 * (`host`, `port`, `username`, `password`, `dbname`; other fields such as `engine` are ignored)
 * or a single `url`.
 */
const FenceDbSecretSchema = z.union([
  z.object({ url: text }),
  z.object({
    host: text,
    port: z.optional(
      z.union([
        z.int().check(z.minimum(1), z.maximum(65_535)),
        z.string().check(z.regex(/^\d{1,5}$/, 'must be a port number')),
      ]),
    ),
    username: text,
    password: text,
    dbname: z.optional(text),
  }),
]);

/**
 * The pool settings for a Fence DB secret's value. Never echoes the value: a malformed secret is
 * refused naming the field only.
 */
export function fenceDbConnectionFromSecret(value: unknown, ssl: FenceDbSslMode): PoolConfig {
  const parsed = FenceDbSecretSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const detail =
      issue?.code === 'invalid_union'
        ? 'must hold url, or host, username and password (an RDS database secret)'
        : `${issue?.path.map(String).join('.') ?? 'it'} ${issue ? describeIssue(issue, value) : 'is invalid'}`;
    throw new ConfigurationError(`the Fence DB secret ${detail}`);
  }
  const secret = parsed.data;
  if ('url' in secret) return fenceDbConnectionFromUrl(secret.url, ssl);
  const settings: PoolConfig = {
    host: secret.host,
    port: secret.port === undefined ? 5432 : Number(secret.port),
    user: secret.username,
    password: secret.password,
    ...(secret.dbname === undefined ? {} : { database: secret.dbname }),
  };
  return { ...settings, ...sslSettings(ssl) };
}

/**
 * The pool settings for a Fence DB URL (`postgres://…`, `FENCE_DB_URL`, `--database-url`, a
 * secret's `url`) under the configured mode. The URL may ask for more than the mode (its
 * `sslmode=verify-full` over `FENCE_DB_SSL=require` is obeyed) but never for less: a URL whose
 * `sslmode` (or `ssl`) is weaker is refused, naming both, never the URL (it may hold a password).
 * `sslrootcert` names the CA file to trust (libpq's parameter; `system`: the default CAs),
 * `sslcert` and `sslkey` a client certificate.
 */
export function fenceDbConnectionFromUrl(url: string, mode: FenceDbSslMode): PoolConfig {
  const queryStart = url.indexOf('?');
  const query = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1));
  const asked = askedStrength(query);
  if (asked !== undefined && asked.strength < MODE_STRENGTH[mode]) {
    throw new ConfigurationError(
      `the Fence DB URL asks for ${asked.parameter}, weaker than FENCE_DB_SSL=${mode}; ` +
        (mode === 'verify'
          ? 'drop it (TLS is verified by default: name the CA with sslrootcert=<file>), or set FENCE_DB_SSL=disable (or require) explicitly'
          : `drop it, or set FENCE_DB_SSL=${asked.strength === TLS_STRENGTH.none ? 'disable' : 'require'} explicitly`),
    );
  }
  const strength = Math.max(MODE_STRENGTH[mode], asked?.strength ?? 0) as TlsStrength;
  const files = {
    ca: query.get('sslrootcert') ?? undefined,
    cert: query.get('sslcert') ?? undefined,
    key: query.get('sslkey') ?? undefined,
  };
  for (const name of URL_TLS_PARAMETERS) query.delete(name);
  const rest = query.toString();
  const base = queryStart === -1 ? url : url.slice(0, queryStart);
  return {
    connectionString: rest === '' ? base : `${base}?${rest}`,
    ...tlsSettings(strength, files),
  };
}

/** The TLS strength a URL's `sslmode` (else `ssl`) asks for; undefined when it says nothing. */
function askedStrength(query: URLSearchParams): { parameter: string; strength: TlsStrength } | undefined {
  for (const [name, strengths] of [
    ['sslmode', URL_SSLMODE_STRENGTH],
    ['ssl', URL_SSL_STRENGTH],
  ] as const) {
    const value = query.get(name);
    if (value === null) continue;
    const strength = Object.hasOwn(strengths, value) ? strengths[value] : undefined;
    if (strength === undefined) {
      throw new ConfigurationError(
        `the Fence DB URL's ${name}=${value} is not one of ${Object.keys(strengths).join(', ')}`,
      );
    }
    return { parameter: `${name}=${value}`, strength };
  }
  return undefined;
}

/**
 * The `ssl` setting for a mode (a secret's host, port and user, which carry no TLS parameters):
 * `verify`: TLS, and the server's certificate must chain to a trusted CA (for RDS in Lambda,
 * the runtime's bundle, `NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem`) and name the host;
 * `require`: TLS without checking the certificate; `disable`: no TLS.
 */
export function sslSettings(mode: FenceDbSslMode): Pick<PoolConfig, 'ssl'> {
  return tlsSettings(MODE_STRENGTH[mode], {});
}

function tlsSettings(
  strength: TlsStrength,
  files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined },
): Pick<PoolConfig, 'ssl'> {
  if (strength === TLS_STRENGTH.none) return { ssl: false };
  const options: ConnectionOptions = { rejectUnauthorized: strength !== TLS_STRENGTH.encrypted };
  // Node checks the host name against the certificate unless told not to: verify-ca is that.
  if (strength === TLS_STRENGTH.ca) options.checkServerIdentity = () => undefined;
  if (files.ca !== undefined && files.ca !== 'system') options.ca = readTlsFile('sslrootcert', files.ca);
  if (files.cert !== undefined) options.cert = readTlsFile('sslcert', files.cert);
  if (files.key !== undefined) options.key = readTlsFile('sslkey', files.key);
  return { ssl: options };
}

function readTlsFile(parameter: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(
      `the Fence DB URL's ${parameter} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): ${path}`,
      { cause: error },
    );
  }
}

/**
 * A pool on Fence DB with the broker's defaults: small, a bounded wait for a connection, idle
 * connections that do not keep a CLI process alive, and no crash when the server drops an idle
 * one. `end()` it when done.
 */
export function openFenceDbPool(config: PoolConfig): Pool {
  const pool = new Pool({ max: 10, connectionTimeoutMillis: 10_000, allowExitOnIdle: true, ...config });
  // An idle connection the server closes (a restart, a failover, a terminated backend) is dropped
  // by the pool and replaced on next use; unheard, its error would end the process.
  pool.on('error', () => undefined);
  return pool;
}
