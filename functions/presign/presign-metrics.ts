import type { ErrorCode } from '../shared/errors';

/**
 * The metrics the presign function publishes (Powertools Metrics, EMF, namespace
 * `POWERTOOLS_METRICS_NAMESPACE`, dimension `service`). The telemetry writes them by these names
 * and the CDK dashboard and alarms read them by the same names.
 */
export const PRESIGN_METRICS = {
  /** Signed URLs (a batch counts its items). */
  presigned: 'PresignCount',
  /** Milliseconds per request: up to 99 samples per publish, so percentiles are of a uniform sample. */
  latency: 'PresignLatency',
  secretCacheHits: 'SecretCacheHits',
  secretCacheMisses: 'SecretCacheMisses',
  /** GetSecretValue calls the cache made (a miss shared by concurrent requests is one load). */
  secretLoads: 'SecretLoads',
  secretStaleServes: 'SecretStaleServes',
  registryCacheHits: 'RegistryCacheHits',
  registryCacheMisses: 'RegistryCacheMisses',
  /** STS AssumeRole calls of role-mode buckets. */
  assumeRoleCalls: 'AssumeRoleCalls',
} as const;

/** Requests that failed with `code` (a batch failing as a whole counts its items). */
export const presignErrorMetric = (code: ErrorCode) => `Error_${code}` as const;

/** The error codes answered with a 5xx status (errors.ts; a unit test holds the two together). */
export const SERVER_ERROR_CODES = [
  'internal_error',
  'credentials_rejected',
  'bucket_misconfigured',
  'secret_backend_unavailable',
  'store_unavailable',
  'registry_unavailable',
] as const satisfies readonly ErrorCode[];
