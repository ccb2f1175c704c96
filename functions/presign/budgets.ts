/**
 * Time budgets of the presign function. Every outbound call has a budget of its own and never
 * runs past the request's deadline (the Lambda's remaining time less a margin for the answer),
 * so a hung backend costs the caller a 503 with Retry-After, never API Gateway's bare 502 after
 * a function timeout. A test holds the sum of the worst cases inside the timeout.
 */

/** The presign Lambda's timeout. The CDK construct gives `BrokerFunction` this value. */
export const PRESIGN_FUNCTION_TIMEOUT_SECONDS = 10;

/** Kept free at the end of an invocation to build the answer, log it and return it. */
export const PRESIGN_RESPONSE_MARGIN_MS = 500;

/** The most each outbound call of one request may take, retries included. */
export const PRESIGN_CALL_BUDGETS_MS = {
  /** DynamoDB GetItem of the bucket's record (attempts of at most 1 s each). */
  registry: 2000,
  /** A secret read on a cache miss (Secrets Manager GetSecretValue, or a Vault login and read). */
  secrets: 2000,
  /** STS AssumeRole (role mode), on a cache miss; or one IAM Credentials signBlob (GCS workload identity), token exchange included. */
  sts: 2000,
  /** One multipart call to the bucket's store (create, complete or abort). */
  store: 3000,
} as const;

/**
 * The deadline of a request (epoch ms): the invocation's remaining time less the answer's
 * margin. Without a Lambda context (local runner, tests), the function timeout stands in.
 */
export function presignDeadline(remainingMs: number | undefined, now = Date.now()): number {
  return now + (remainingMs ?? PRESIGN_FUNCTION_TIMEOUT_SECONDS * 1000) - PRESIGN_RESPONSE_MARGIN_MS;
}
