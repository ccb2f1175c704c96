import * as z from 'zod/mini';
import { SecretsEnvironmentSchema } from '../shared/backends/secrets-environment';
import { booleanFlag, commaList, positiveInteger, seconds } from '../shared/config/environment';
import { DEFAULT_MAX_PIN_AGE_DAYS } from '../shared/drift/drift-check';
import { DEFAULT_MAX_STATIC_KEY_AGE_DAYS } from '../shared/drift/static-key-age';
import { StoreEndpointEnvironment } from '../shared/network/store-endpoint-policy';

/**
 * The drift check's settings: the drift-check Lambda's environment (the CDK construct is typed by
 * the same schema), and what `fence-buckets drift-check` reads from the operator's shell. The
 * reader settings are the presign function's, under the same names, as for rotation.
 */
export const DriftEnvironmentSchema = z.extend(SecretsEnvironmentSchema, {
  REGISTRY_TABLE_NAME: z.string().check(z.minLength(3)).check(z.describe('The registry table.')),
  DRIFT_REPORT_BUCKET: z
    .optional(z.string().check(z.minLength(3)))
    .check(
      z.describe("Where each run's report goes (`reports/…` in this bucket). Unset for the CLI's own runs."),
    ),
  DRIFT_CONCURRENCY: z._default(positiveInteger(), 16).check(z.describe('Buckets checked at the same time.')),
  DRIFT_CHECK_TIMEOUT_SECONDS: seconds(10).check(z.describe('The longest one check may take.')),
  FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS: seconds(3600).check(
    z.describe("URL lifetime assumed for every rotated secret (rotation's floor for the grace)."),
  ),
  FENCE_ROTATION_MARGIN_SECONDS: seconds(600).check(
    z.describe("Added to every key's grace, as rotation adds it."),
  ),
  FENCE_MINIO_ADMIN_SECRET_ARNS: z
    .optional(
      commaList(z.string().check(z.regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:/))),
    )
    .check(
      z.describe(
        "The MinIO admin secrets the drift role may read (`minioAdminSecretArns`, full ARNs): a secret's `minio_admin_secret_ref` is read by its ARN from this list, since the role's policy allows those ARNs and no other admin secret. Unset: refs are read as they are (the CLI).",
      ),
    ),
  DRIFT_MAX_PIN_AGE_DAYS: z
    ._default(positiveInteger(), DEFAULT_MAX_PIN_AGE_DAYS)
    .check(
      z.describe(
        'The oldest a version pinned by a custom staging label may be before the pin is a `pin_age` finding (`driftMaxPinAgeDays` in the stack).',
      ),
    ),
  DRIFT_MAX_STATIC_KEY_AGE_DAYS: z
    ._default(positiveInteger(), DEFAULT_MAX_STATIC_KEY_AGE_DAYS)
    .check(
      z.describe(
        "The oldest a static AWS key without rotation may be (by its secret version's creation date) before it is a `key_age` finding (`driftMaxStaticKeyAgeDays` in the stack).",
      ),
    ),
  FENCE_ALLOW_INSECURE_MINIO_HTTP: booleanFlag(false).check(
    z.describe('Accept `http` MinIO endpoints: for tests and local development only.'),
  ),
  ASSUME_ROLE_DURATION_SECONDS: seconds(900).check(
    z.describe("Session length of role-mode proofs (STS's minimum)."),
  ),
  /** Where the function's own calls to stores may go (SSRF): `network/store-endpoint-policy.ts`. */
  ...StoreEndpointEnvironment,
});
export type DriftEnvironment = z.output<typeof DriftEnvironmentSchema>;
