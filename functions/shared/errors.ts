/**
 * Every error the broker raises on purpose. Each class carries the stable public code and HTTP
 * status of DESIGN.md, so the HTTP layer maps errors by class and never by message text.
 */

/** Where an error code reaches someone: the two HTTP APIs (and the local runner's), and the CLI. */
export const ERROR_SURFACES = ['presign API', 'admin API', 'CLI'] as const;
export type ErrorSurface = (typeof ERROR_SURFACES)[number];

/** What an operator or a client needs to know of one code; the error reference is generated from it. */
export interface ErrorCodeReference {
  /** The HTTP status every error of the code answers with. */
  readonly status: number;
  /** When the code is answered, in the reader's terms. */
  readonly meaning: string;
  /** Whether the same request may succeed later without anyone changing anything. */
  readonly retry: 'yes' | 'no' | 'after a fix' | 'usually';
  /** Who answers with it. */
  readonly surfaces: readonly ErrorSurface[];
}

const ALL_SURFACES = ERROR_SURFACES;
const ADMIN = ['admin API', 'CLI'] as const;

/**
 * Every stable code of the public API (OpenAPI's enum, the metrics' names and dashboard), with
 * its status and meaning. The classes below take their status from here, so the generated
 * error reference (`npm run docs:reference`) and the answers cannot disagree.
 */
export const ERROR_REFERENCE = {
  invalid_request: {
    status: 400,
    meaning:
      'the body breaks the schema (the message names the field), is not JSON or not UTF-8; a bad bucket name (names `bucket`)',
    retry: 'no',
    surfaces: ALL_SURFACES,
  },
  operation_not_allowed: {
    status: 403,
    meaning: "the operation is not in the bucket's `allowed_ops`",
    retry: 'no',
    surfaces: ['presign API'],
  },
  unknown_bucket: {
    status: 404,
    meaning: 'no registry record for the bucket',
    retry: 'no',
    surfaces: ALL_SURFACES,
  },
  unknown_route: {
    status: 404,
    meaning: 'the path is not one of the routes',
    retry: 'no',
    surfaces: ['presign API', 'admin API'],
  },
  method_not_allowed: {
    status: 405,
    meaning: 'a route called with another method than its own (the `Allow` header names it)',
    retry: 'no',
    surfaces: ['presign API', 'admin API'],
  },
  payload_too_large: {
    status: 413,
    meaning:
      "a body over the local runner's 6 MiB limit (Lambda's invocation limit; behind API Gateway such a body is refused before the function runs, not in this shape), or a fence-config.yaml too large to migrate",
    retry: 'no',
    surfaces: ALL_SURFACES,
  },
  bucket_suspended: {
    status: 409,
    meaning: "the bucket's `status` is `suspended`",
    retry: 'after a fix',
    surfaces: ['presign API'],
  },
  bucket_exists: {
    status: 409,
    meaning: 'a registration names a bucket that is already registered',
    retry: 'no',
    surfaces: ADMIN,
  },
  revision_conflict: {
    status: 409,
    meaning: 'an update carries a stale `revision` (someone changed the record first): read it again',
    retry: 'after a fix',
    surfaces: ADMIN,
  },
  throttled: {
    status: 429,
    meaning: 'a backend throttled the broker and retries ran out (with `Retry-After`)',
    retry: 'yes',
    surfaces: ALL_SURFACES,
  },
  credentials_rejected: {
    status: 502,
    meaning: "the bucket's store or STS refused the credentials",
    retry: 'after a fix',
    surfaces: ALL_SURFACES,
  },
  bucket_misconfigured: {
    status: 502,
    meaning:
      'the registry record is malformed (names the field) or breaks a rule of the deployment, or it points at a missing or malformed secret or a backend this deployment does not run; an operator must fix it',
    retry: 'after a fix',
    surfaces: ALL_SURFACES,
  },
  secret_backend_unavailable: {
    status: 503,
    meaning:
      'no usable cached value and the secrets backend (or STS, in role mode) failed or did not answer within its budget (with `Retry-After: 5`); not worth retrying when the backend refused the broker itself',
    retry: 'usually',
    surfaces: ALL_SURFACES,
  },
  store_unavailable: {
    status: 503,
    meaning:
      "the bucket's store failed or did not answer (a multipart call; a registration proof whose store answered with a 5xx) within its budget (with `Retry-After: 2`)",
    retry: 'yes',
    surfaces: ALL_SURFACES,
  },
  store_unreachable: {
    status: 400,
    meaning:
      'the registration proof (register, a patch of `endpoint`, resume) could not reach the store at the given endpoint: connection refused, a name that does not resolve, a failed TLS handshake, or no answer within 5 s; names `endpoint`, nothing is saved',
    retry: 'after a fix',
    surfaces: ADMIN,
  },
  endpoint_not_allowed: {
    status: 400,
    meaning:
      'a bucket endpoint the store-endpoint policy refuses (SSRF): at registration or patch, or at connect time when a stored one (or the address its name resolves to) is refused; names `endpoint`',
    retry: 'after a fix',
    surfaces: ALL_SURFACES,
  },
  registry_unavailable: {
    status: 503,
    meaning: 'the registry failed or did not answer within its budget (with `Retry-After: 2`)',
    retry: 'yes',
    surfaces: ALL_SURFACES,
  },
  caller_not_allowed: {
    status: 403,
    meaning:
      "the caller is not one of the admin API's principals (the handler checks it after API Gateway), or a request to the local runner that names another host or carries an `Origin`",
    retry: 'no',
    surfaces: ['presign API', 'admin API'],
  },
  unknown_secret: {
    status: 404,
    meaning: 'a registration or patch names a secret that does not exist (or is scheduled for deletion)',
    retry: 'after a fix',
    surfaces: ADMIN,
  },
  secret_exists: {
    status: 409,
    meaning:
      'a registration with `create_secret` names a secret that already exists: register it with `secret_ref`',
    retry: 'no',
    surfaces: ADMIN,
  },
  invalid_secret: {
    status: 400,
    meaning:
      'a registration or patch names a secret that cannot serve the bucket: outside the prefix, of the wrong shape, or a pin that does not exist',
    retry: 'after a fix',
    surfaces: ADMIN,
  },
  rotation_not_configured: {
    status: 409,
    meaning: 'a rotation was asked of a secret that has no rotation configured (or one in progress)',
    retry: 'after a fix',
    surfaces: ADMIN,
  },
  internal_error: {
    status: 500,
    meaning:
      "the function's own configuration (environment) is invalid, a Fence DB migration failed and was rolled back, or an unexpected failure (logged with the request id)",
    retry: 'no',
    surfaces: ALL_SURFACES,
  },
} as const satisfies Record<string, ErrorCodeReference>;

/** Stable error codes of the public API (OpenAPI's enum, the metrics' names and dashboard). */
export const ERROR_CODES = Object.keys(ERROR_REFERENCE) as (keyof typeof ERROR_REFERENCE)[];
export type ErrorCode = (typeof ERROR_CODES)[number];

interface BrokerErrorOptions {
  cause?: unknown;
  /** Seconds a client should wait before retrying; sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** Overrides the class's default `transient` (see `BrokerError.transient`). */
  transient?: boolean;
}

/** Base of all deliberate errors. Messages must never contain a secret value. */
export abstract class BrokerError extends Error {
  /**
   * The class's own name, written out: the deployed bundles are minified, so a name taken from
   * the class itself (`new.target.name`) reaches Lambda's errorType and the logs as `U` or `Za`.
   */
  abstract override readonly name: string;
  abstract readonly code: ErrorCode;
  abstract readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  /**
   * Whether the same request may succeed later without anyone changing anything: a timeout, a
   * network error, a 5xx, throttling. A definitive answer (not found, access denied, a disabled
   * key, a refused login, a malformed record) is not. The credentials cache serves a stale value
   * only over a transient failure, so a revoked secret stops signing once its TTL is over.
   * False unless the class (the `…UnavailableError`s, `ThrottledError`) or the thrower says so.
   */
  readonly transient: boolean;

  constructor(message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.transient = options.transient ?? false;
  }
}

/** The request breaks the schema; `field` names the offending field when there is one. */
export class InvalidRequestError extends BrokerError {
  override readonly name: string = 'InvalidRequestError';
  readonly code = 'invalid_request';
  readonly status = ERROR_REFERENCE.invalid_request.status;
  constructor(
    message: string,
    readonly field?: string,
    options?: BrokerErrorOptions,
  ) {
    super(message, options);
  }
}

/** No route at this path (the bucket API has six, all under `/v1/buckets/{bucket}/`). */
export class UnknownRouteError extends BrokerError {
  override readonly name: string = 'UnknownRouteError';
  readonly code = 'unknown_route';
  readonly status = ERROR_REFERENCE.unknown_route.status;
}

/** The route exists but not for this HTTP method; `allow` becomes the `Allow` header. */
export class MethodNotAllowedError extends BrokerError {
  override readonly name: string = 'MethodNotAllowedError';
  readonly code = 'method_not_allowed';
  readonly status = ERROR_REFERENCE.method_not_allowed.status;
  constructor(
    message: string,
    readonly allow: readonly string[],
  ) {
    super(message);
  }
}

/** The request body is larger than the API accepts. */
export class PayloadTooLargeError extends BrokerError {
  override readonly name: string = 'PayloadTooLargeError';
  readonly code = 'payload_too_large';
  readonly status = ERROR_REFERENCE.payload_too_large.status;
}

export class OperationNotAllowedError extends BrokerError {
  override readonly name: string = 'OperationNotAllowedError';
  readonly code = 'operation_not_allowed';
  readonly status = ERROR_REFERENCE.operation_not_allowed.status;
}

export class UnknownBucketError extends BrokerError {
  override readonly name: string = 'UnknownBucketError';
  readonly code = 'unknown_bucket';
  readonly status = ERROR_REFERENCE.unknown_bucket.status;
  constructor(bucketName: string) {
    super(`no bucket named "${bucketName}" is registered`);
  }
}

export class BucketSuspendedError extends BrokerError {
  override readonly name: string = 'BucketSuspendedError';
  readonly code = 'bucket_suspended';
  readonly status = ERROR_REFERENCE.bucket_suspended.status;
  constructor(bucketName: string) {
    super(`bucket "${bucketName}" is suspended`);
  }
}

/** A create named a bucket that already has a record. */
export class BucketExistsError extends BrokerError {
  override readonly name: string = 'BucketExistsError';
  readonly code = 'bucket_exists';
  readonly status = ERROR_REFERENCE.bucket_exists.status;
  constructor(bucketName: string, options?: BrokerErrorOptions) {
    super(`bucket "${bucketName}" is already registered`, options);
  }
}

/** An update carried a revision other than the stored one (optimistic concurrency). */
export class RevisionConflictError extends BrokerError {
  override readonly name: string = 'RevisionConflictError';
  readonly code = 'revision_conflict';
  readonly status = ERROR_REFERENCE.revision_conflict.status;
}

/** A backend throttled us and the SDK's retries ran out. */
export class ThrottledError extends BrokerError {
  override readonly name: string = 'ThrottledError';
  readonly code = 'throttled';
  readonly status = ERROR_REFERENCE.throttled.status;
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super(message, { transient: true, ...options });
  }
}

/** The bucket's store refused the credentials. */
export class CredentialsRejectedError extends BrokerError {
  override readonly name: string = 'CredentialsRejectedError';
  readonly code = 'credentials_rejected';
  readonly status = ERROR_REFERENCE.credentials_rejected.status;
}

/**
 * The bucket's registration points at something that does not work: a missing secret, a secret
 * whose payload breaks the shape conventions, a backend this deployment does not run. Retrying
 * will not help; an operator must fix the record or the secret.
 */
export class BucketMisconfiguredError extends BrokerError {
  override readonly name: string = 'BucketMisconfiguredError';
  readonly code: ErrorCode = 'bucket_misconfigured';
  readonly status = ERROR_REFERENCE.bucket_misconfigured.status;
}

/**
 * The bucket's registry record breaks the schema (an unknown operation, a set where a list
 * belongs, a malformed id, …). Names the bucket and the field, never the stored value.
 */
export class BucketRecordShapeError extends BucketMisconfiguredError {
  override readonly name: string = 'BucketRecordShapeError';
  constructor(
    readonly bucketName: string,
    readonly field: string | undefined,
    problem: string,
  ) {
    super(
      `the registry record of bucket "${bucketName}" is malformed: ${field === undefined ? 'it' : `field "${field}"`} ${problem}`,
    );
  }
}

/**
 * The bucket's record breaks a rule of the deployment (`registry/record-policy.ts`): its secret
 * is outside the prefix or under the admin sub-path, say. Raised where a record is served, after
 * it passed the schema (a mirror item written by hand, or before the rule existed). Names the
 * bucket, the rule and the field, never the stored value.
 */
export class RecordPolicyError extends BucketMisconfiguredError {
  override readonly name: string = 'RecordPolicyError';
  constructor(
    readonly bucketName: string,
    readonly rule: string,
    readonly field: string,
  ) {
    super(
      `the registry record of bucket "${bucketName}" breaks this deployment's rule ${rule} (field "${field}"); an operator must fix it`,
    );
  }
}

/**
 * The secret reference does not exist in its backend (or not at that version). `problem` says
 * more where the backend tells why (a deleted, destroyed or disabled version).
 */
export class SecretNotFoundError extends BucketMisconfiguredError {
  override readonly name: string = 'SecretNotFoundError';
  constructor(
    readonly secretRef: string,
    version: string | null | undefined,
    options?: BrokerErrorOptions,
    problem = 'was not found',
  ) {
    super(`secret ${secretRef}${version ? ` (version ${version})` : ''} ${problem}`, options);
  }
}

/** A secret payload breaks the shape conventions. Names the ref and the field, never a value. */
export class SecretShapeError extends BucketMisconfiguredError {
  override readonly name: string = 'SecretShapeError';
  constructor(
    readonly secretRef: string,
    readonly field: string | undefined,
    problem: string,
  ) {
    super(`secret ${secretRef}: ${field === undefined ? '' : `field "${field}" `}${problem}`);
  }
}

/**
 * No usable value: the backend failed and nothing cached is young enough to serve. Transient
 * unless the backend refused the broker itself (its login or credentials): that is an answer,
 * not an outage, and the thrower passes `transient: false`.
 */
export class SecretBackendUnavailableError extends BrokerError {
  override readonly name: string = 'SecretBackendUnavailableError';
  readonly code = 'secret_backend_unavailable';
  readonly status = ERROR_REFERENCE.secret_backend_unavailable.status;
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super(message, { retryAfterSeconds: 5, transient: true, ...options });
  }
}

/** The bucket's store could not be reached or failed (multipart calls, validation). */
export class StoreUnavailableError extends BrokerError {
  override readonly name: string = 'StoreUnavailableError';
  readonly code = 'store_unavailable';
  readonly status = ERROR_REFERENCE.store_unavailable.status;
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super(message, { retryAfterSeconds: 2, transient: true, ...options });
  }
}

/**
 * The registration proof (register, a patch of the endpoint, a resume) could not reach the store
 * at the endpoint the operator gave: the connection was refused, the name does not resolve, the
 * TLS handshake failed or nothing answered in time. The operator's input is at fault, so a 400
 * naming `endpoint`, not the 503 `store_unavailable` a retry would be invited by. Presign's own
 * calls to a registered store keep `StoreUnavailableError`: there an outage is the store's.
 */
export class StoreUnreachableError extends BrokerError {
  override readonly name: string = 'StoreUnreachableError';
  readonly code = 'store_unreachable';
  readonly status = ERROR_REFERENCE.store_unreachable.status;
  readonly field = 'endpoint';
}

/**
 * A bucket's store endpoint that this deployment's store-endpoint policy refuses: not `https`
 * (without `STORE_ENDPOINT_ALLOW_HTTP`), with userinfo, a query or a fragment, or a host that is
 * (or resolves to) a loopback, link-local, private, CGNAT, ULA or unspecified address outside
 * `STORE_ENDPOINT_ALLOWED_NETWORKS`. Raised where a record's `endpoint` is accepted and again at
 * connect time, after DNS, so no request reaches such an address. Names the field and the rule,
 * never a resolved address (the answer would map the deployment's network for the caller).
 */
export class StoreEndpointRefusedError extends BrokerError {
  override readonly name: string = 'StoreEndpointRefusedError';
  readonly code = 'endpoint_not_allowed';
  readonly status = ERROR_REFERENCE.endpoint_not_allowed.status;
  constructor(
    message: string,
    readonly field = 'endpoint',
  ) {
    super(message);
  }
}

/**
 * The registry (the DynamoDB mirror) did not answer within its budget, failed, or could not be
 * reached. Nothing about the bucket is known, so the request can only be retried.
 */
export class RegistryUnavailableError extends BrokerError {
  override readonly name: string = 'RegistryUnavailableError';
  readonly code = 'registry_unavailable';
  readonly status = ERROR_REFERENCE.registry_unavailable.status;
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super(message, { retryAfterSeconds: 2, transient: true, ...options });
  }
}

/** The caller is not one of the principals allowed on this route (the admin API checks it itself too). */
export class CallerNotAllowedError extends BrokerError {
  override readonly name: string = 'CallerNotAllowedError';
  readonly code = 'caller_not_allowed';
  readonly status = ERROR_REFERENCE.caller_not_allowed.status;
}

/** An admin request names a secret that does not exist (or is scheduled for deletion). */
export class UnknownSecretError extends BrokerError {
  override readonly name: string = 'UnknownSecretError';
  readonly code = 'unknown_secret';
  readonly status = ERROR_REFERENCE.unknown_secret.status;
  constructor(ref: string, options?: BrokerErrorOptions) {
    super(`secret ${ref} does not exist`, options);
  }
}

/** An admin create named a secret that already exists. */
export class SecretExistsError extends BrokerError {
  override readonly name: string = 'SecretExistsError';
  readonly code = 'secret_exists';
  readonly status = ERROR_REFERENCE.secret_exists.status;
  constructor(name: string, options?: BrokerErrorOptions) {
    super(`secret ${name} already exists; register the bucket with secret_ref instead`, options);
  }
}

/**
 * An admin request names a secret that cannot serve the bucket: outside the prefix, of the wrong
 * shape, or a pin that does not exist. Names the ref and the field, never a value.
 */
export class InvalidSecretError extends BrokerError {
  override readonly name: string = 'InvalidSecretError';
  readonly code = 'invalid_secret';
  readonly status = ERROR_REFERENCE.invalid_secret.status;
}

/** A rotation was asked of a secret that has no rotation configured (or one in progress). */
export class RotationNotConfiguredError extends BrokerError {
  override readonly name: string = 'RotationNotConfiguredError';
  readonly code = 'rotation_not_configured';
  readonly status = ERROR_REFERENCE.rotation_not_configured.status;
}

/** The function's own configuration (environment) is invalid; raised at cold start. */
export class ConfigurationError extends BrokerError {
  override readonly name: string = 'ConfigurationError';
  readonly code = 'internal_error';
  readonly status = ERROR_REFERENCE.internal_error.status;
}

/**
 * A Fence DB migration the database refused (`fence-buckets db migrate`): the run stopped there
 * and the migration was rolled back, so nothing of it is applied. Names the file, never the URL.
 */
export class MigrationFailedError extends BrokerError {
  override readonly name: string = 'MigrationFailedError';
  readonly code = 'internal_error';
  readonly status = ERROR_REFERENCE.internal_error.status;
  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    super(
      `migration ${migration} failed and was rolled back: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** C0 controls, DEL and C1 controls: terminals and log parsers act on them. */
const CONTROL_CHARACTERS = /\p{Cc}/gu;

/**
 * Text a store (or another system the broker calls) wrote, made fit to keep in a message:
 * control characters dropped and at most `max` characters, so a store can neither write escape
 * sequences into a terminal or a log nor grow an answer. Prefer not keeping store text at all.
 */
export function storeText(text: string, max = 128): string {
  const clean = text.replace(CONTROL_CHARACTERS, '');
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

/** Whether `error` is one of ours (as opposed to a bug or an unmapped SDK error). */
export function isBrokerError(error: unknown): error is BrokerError {
  return error instanceof BrokerError;
}
