import { Client } from 'minio';
import { BrokerError, CredentialsRejectedError, StoreUnavailableError, ThrottledError } from '../errors';
import { type StoreEndpointPolicy, storeEndpointPolicy } from '../network/store-endpoint-policy';
import type { BucketRecord } from '../registry/bucket-record';
import type { SigningCredentials } from '../signing/sigv4-presigner';

/** Credentials to prove on a bucket, with what a private or mutual-TLS store needs. */
export interface ProbeCredentials extends SigningCredentials {
  caBundlePem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

/** Where the broker's own S3 calls for a record go (not where Fence's URLs point). */
export function storeEndpoint(record: BucketRecord, env: NodeJS.ProcessEnv = process.env): URL {
  if (record.endpoint !== null) return new URL(record.endpoint);
  if (record.provider === 'gcp') return new URL('https://storage.googleapis.com');
  // The SDK's own variables, so the same check runs against AWS, moto or LocalStack.
  const configured = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (configured) return new URL(configured);
  const region = record.region ?? 'us-east-1';
  return new URL(`https://s3.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`);
}

/** Where a probe goes: a store endpoint and a bucket on it. */
export interface ProbeTarget {
  endpoint: URL;
  bucket: string;
  region: string;
  /** Path-style addressing (explicit endpoints: MinIO, S3-compatible stores, emulators). */
  pathStyle: boolean;
}

/**
 * Proves that credentials can reach a record's bucket: a signed HEAD of the bucket through the
 * `minio` client (DESIGN.md: the package for the broker's S3 calls to stores). Throws
 * `CredentialsRejectedError` when the store refuses (or hides) the bucket, `StoreUnavailableError`
 * when it cannot be reached, `ThrottledError` when it asks us to slow down.
 */
export function probeBucketAccess(
  record: BucketRecord,
  credentials: ProbeCredentials,
  options: ProbeOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const endpoint = storeEndpoint(record, options.env);
  return probeStoreBucket(
    {
      endpoint,
      bucket: record.bucket_name,
      region: record.region ?? 'us-east-1',
      pathStyle: record.endpoint !== null || endpoint.hostname.match(/^[\d.]+$|^localhost$/) !== null,
    },
    credentials,
    options,
  );
}

/** How a probe runs. */
export interface ProbeOptions {
  /** @default 5000 */
  timeoutMs?: number;
  /** Where the probe may connect. @default the process's (`STORE_ENDPOINT_…` variables) */
  policy?: StoreEndpointPolicy;
}

/**
 * The probe itself, for any store and bucket (rotation's testSecret proves a pending key with it).
 * The store-endpoint policy checks the endpoint before anything is sent and every address its
 * name resolves to at connect time; the minio client follows no redirect.
 */
export async function probeStoreBucket(
  target: ProbeTarget,
  credentials: ProbeCredentials,
  options: ProbeOptions = {},
): Promise<void> {
  const { endpoint } = target;
  const secure = endpoint.protocol === 'https:';
  const policy = options.policy ?? storeEndpointPolicy();
  policy.checkTarget(endpoint);
  // An agent of its own: it carries the store's CA and client certificate, and destroying it
  // ends a request that outlived the timeout (the minio client has no timeout of its own).
  const agent = policy.agent(secure, {
    ...(credentials.caBundlePem === undefined ? {} : { ca: credentials.caBundlePem }),
    ...(credentials.clientCertPem === undefined ? {} : { cert: credentials.clientCertPem }),
    ...(credentials.clientKeyPem === undefined ? {} : { key: credentials.clientKeyPem }),
  });
  const client = new Client({
    endPoint: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : secure ? 443 : 80,
    useSSL: secure,
    accessKey: credentials.accessKeyId,
    secretKey: credentials.secretAccessKey,
    ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
    region: target.region,
    pathStyle: target.pathStyle,
    transportAgent: agent,
  });
  const timeoutMs = options.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  let exists: boolean;
  try {
    exists = await Promise.race([
      client.bucketExists(target.bucket),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ProbeTimeout(timeoutMs)), timeoutMs);
      }),
    ]);
  } catch (error) {
    throw translate(error, target);
  } finally {
    clearTimeout(timer);
    agent.destroy();
  }
  if (!exists) {
    throw new CredentialsRejectedError(
      `the store at ${endpoint.host} has no bucket "${target.bucket}" that these credentials can see`,
    );
  }
}

function translate(error: unknown, target: ProbeTarget): Error {
  // The policy's refusal at connect time, as it was raised.
  if (error instanceof BrokerError) return error;
  if (error instanceof ProbeTimeout) {
    return new StoreUnavailableError(
      `the store for bucket "${target.bucket}" did not answer the check ${error.message}`,
      { cause: error },
    );
  }
  const code = (error as { code?: unknown } | null)?.code;
  const host = target.endpoint.host;
  switch (code) {
    case 'AccessDenied':
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'ExpiredToken':
    case 'InvalidToken':
      return new CredentialsRejectedError(
        `the store refused the credentials for bucket "${target.bucket}" (${code})`,
        { cause: error },
      );
    case 'SlowDown':
      return new ThrottledError(`the store at ${host} throttled the check`, {
        cause: error,
        retryAfterSeconds: 1,
      });
    default:
      return new StoreUnavailableError(
        `the store for bucket "${target.bucket}" could not be reached or failed the check`,
        { cause: error },
      );
  }
}

/** Network error codes that mean the store was never reached (no answer of its own came back). */
const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'the connection was refused',
  ENOTFOUND: 'its host name does not resolve',
  EAI_AGAIN: 'its host name does not resolve',
  EAI_NONAME: 'its host name does not resolve',
  EHOSTUNREACH: 'its host cannot be reached',
  ENETUNREACH: 'its network cannot be reached',
  ECONNRESET: 'the connection was reset before an answer',
  ETIMEDOUT: 'the connection timed out',
  EPROTO: 'the TLS handshake failed',
};

/**
 * Why a probe's `StoreUnavailableError` means the store was never reached (a refused connection,
 * a name that does not resolve, a failed TLS handshake, no answer in time), in words for a
 * message; undefined when the store answered (a 5xx, a malformed answer), which is its outage.
 */
export function unreachableReason(error: unknown): string | undefined {
  const cause = error instanceof StoreUnavailableError ? error.cause : undefined;
  if (cause instanceof ProbeTimeout) return `nothing answered ${cause.message}`;
  const code = (cause as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (Object.hasOwn(UNREACHABLE, code)) return UNREACHABLE[code];
  // OpenSSL's and Node's TLS codes: the store's certificate or protocol did not pass.
  if (/^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/.test(code)) {
    return `the TLS handshake failed (${code})`;
  }
  return undefined;
}

class ProbeTimeout extends Error {
  override readonly name = 'ProbeTimeout';
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}
