import { Pool, type PoolConfig } from 'pg';
import * as z from 'zod/mini';
import { ConfigurationError } from '../errors';
import { describeIssue } from '../validation';

/** How the connection to Fence DB is secured. */
export const FENCE_DB_SSL_MODES = ['verify', 'require', 'disable'] as const;
export type FenceDbSslMode = (typeof FENCE_DB_SSL_MODES)[number];

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
  const settings: PoolConfig =
    'url' in secret
      ? { connectionString: secret.url }
      : {
          host: secret.host,
          port: secret.port === undefined ? 5432 : Number(secret.port),
          user: secret.username,
          password: secret.password,
          ...(secret.dbname === undefined ? {} : { database: secret.dbname }),
        };
  return { ...settings, ...sslSettings(ssl) };
}

/**
 * `verify`: TLS, and the server's certificate must chain to a trusted CA (for RDS in Lambda,
 * the runtime's bundle, `NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem`); `require`: TLS without
 * checking the certificate; `disable`: no TLS (a database on loopback, tests).
 */
export function sslSettings(mode: FenceDbSslMode): Pick<PoolConfig, 'ssl'> {
  switch (mode) {
    case 'verify':
      return { ssl: { rejectUnauthorized: true } };
    case 'require':
      return { ssl: { rejectUnauthorized: false } };
    case 'disable':
      return { ssl: false };
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
