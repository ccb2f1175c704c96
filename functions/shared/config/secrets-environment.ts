import * as z from 'zod/mini';
import { SECRETS_BACKENDS } from '../registry/bucket-record';
import { commaList, positiveInteger, seconds } from './environment';

/**
 * Secrets settings every function that resolves secrets shares (the plan's
 * `FENCE_SECRETS_BACKEND` plus backend parameters). AWS region and endpoint come from the SDK's
 * own variables (`AWS_REGION`, `AWS_ENDPOINT_URL`), so the same code runs against AWS, moto or
 * LocalStack.
 */
export const SecretsEnvironmentSchema = z.object({
  /** Backends this deployment serves, comma-separated; records naming another are refused. */
  FENCE_SECRETS_BACKEND: z._default(commaList(z.enum(SECRETS_BACKENDS)), ['aws_sm' as const]),
  /** Every secret name lives under this prefix; IAM grants nothing outside it. */
  FENCE_SECRETS_PREFIX: z._default(z.string().check(z.minLength(1)), 'gen3/fence/'),
  /** KMS key for secrets the admin flows create. */
  FENCE_SECRETS_KMS_KEY_ID: z.optional(z.string().check(z.minLength(1))),
  /** Directory of mounted secret files, for the `k8s` backend. */
  FENCE_SECRETS_DIR: z.optional(z.string().check(z.minLength(1))),
  FENCE_SECRET_CACHE_TTL_SECONDS: seconds(300),
  FENCE_SECRET_CACHE_MAX_STALE_SECONDS: seconds(3600),
  FENCE_SECRET_CACHE_MAX_ENTRIES: z._default(positiveInteger(), 1000),
});
export type SecretsEnvironment = z.output<typeof SecretsEnvironmentSchema>;
