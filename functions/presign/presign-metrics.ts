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

/** Every error code, for a graph of errors by code. */
export const ERROR_CODES = [
  'invalid_request',
  'operation_not_allowed',
  'unknown_bucket',
  'unknown_route',
  'method_not_allowed',
  'payload_too_large',
  'bucket_suspended',
  'bucket_exists',
  'revision_conflict',
  'throttled',
  'credentials_rejected',
  'bucket_misconfigured',
  'secret_backend_unavailable',
  'store_unavailable',
  'registry_unavailable',
  'caller_not_allowed',
  'unknown_secret',
  'secret_exists',
  'invalid_secret',
  'rotation_not_configured',
  'internal_error',
] as const satisfies readonly ErrorCode[];
/** Compiles only while ERROR_CODES lists every ErrorCode. */
export const ERROR_CODES_COMPLETE: [Exclude<ErrorCode, (typeof ERROR_CODES)[number]>] extends [never]
  ? true
  : never = true;
