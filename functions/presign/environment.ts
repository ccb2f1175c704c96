import * as z from 'zod/mini';
import { GCP_PROJECT_ID_PATTERN } from '../shared/backends/gcp/service-account-project';
import { SecretsEnvironmentSchema } from '../shared/backends/secrets-environment';
import { positiveInteger, seconds } from '../shared/config/environment';
import { StoreEndpointEnvironment } from '../shared/network/store-endpoint-policy';
import { RECORD_POLICY_ENVIRONMENT } from '../shared/registry/record-policy';

/** The presign function's environment; the CDK construct is typed by the same schema. */
export const PresignEnvironmentSchema = z.extend(SecretsEnvironmentSchema, {
  REGISTRY_TABLE_NAME: z
    .string()
    .check(z.minLength(3))
    .check(z.describe('The registry table (DynamoDB mirror of Fence DB).')),
  REGISTRY_CACHE_TTL_SECONDS: seconds(10).check(
    z.describe('How long a registry record is trusted; a suspension takes effect within it.'),
  ),
  ASSUME_ROLE_DURATION_SECONDS: z
    ._default(z.coerce.number().check(z.int(), z.minimum(900), z.maximum(43_200)), 3600)
    .check(z.describe('Requested AssumeRole session length; URLs in role mode live at most this long.')),
  AUDIT_SAMPLE_RATE: z
    ._default(z.coerce.number().check(z.minimum(0), z.maximum(1)), 1)
    .check(
      z.describe('Audit lines for successful requests are kept at this rate (errors are always logged).'),
    ),
  METRICS_PUBLISH_INTERVAL_SECONDS: z
    ._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(300)), 10)
    .check(z.describe('Metrics are published at most this often (0: after every invocation).')),
  REGISTRY_CACHE_MAX_ENTRIES: z
    ._default(positiveInteger(), 10_000)
    .check(z.describe('The most registry records the lookup cache holds (least recently used leave first).')),
  MAX_URL_LIFETIME_SECONDS: RECORD_POLICY_ENVIRONMENT.MAX_URL_LIFETIME_SECONDS.check(
    z.describe("The deployment's cap on URL lifetimes: no URL lives longer, whatever a record says."),
  ),
  GCP_REQUESTER_PAYS_PROJECT: z
    .optional(z.string().check(z.regex(GCP_PROJECT_ID_PATTERN, 'must be a GCP project id')))
    .check(
      z.describe(
        "The project (id) billed when a request to a GCS bucket asks for requester pays. Without it, the signing service account's own project is billed.",
      ),
    ),
  /** Where the function's own calls to stores may go (SSRF): `network/store-endpoint-policy.ts`. */
  ...StoreEndpointEnvironment,
});
export type PresignEnvironment = z.output<typeof PresignEnvironmentSchema>;
