import * as z from 'zod/mini';
import { SecretsEnvironmentSchema } from '../shared/backends/secrets-environment';
import { commaList, seconds } from '../shared/config/environment';
import { StoreEndpointEnvironment } from '../shared/network/store-endpoint-policy';
import { FENCE_DB_SSL_MODES } from '../shared/registry/fence-db-connection';
import { RECORD_POLICY_ENVIRONMENT } from '../shared/registry/record-policy';

/** Where admin writes go first: Fence DB, or DynamoDB alone. */
export const REGISTRY_SOURCES = ['dynamodb', 'postgres'] as const;

/**
 * The admin core's settings: the admin Lambda's environment (the CDK construct is typed by the
 * same schema), and what the CLI reads from the operator's shell.
 */
export const AdminEnvironmentSchema = z.extend(SecretsEnvironmentSchema, {
  REGISTRY_TABLE_NAME: z
    .string()
    .check(z.minLength(3))
    .check(z.describe('The registry table (DynamoDB mirror of Fence DB).')),
  REGISTRY_SOURCE: z
    ._default(z.enum(REGISTRY_SOURCES), 'dynamodb')
    .check(
      z.describe(
        'The registry of record (DESIGN.md "Registry of record"): `postgres` writes Fence DB first, then the same record to the DynamoDB table at once; `dynamodb` (deployments without Fence DB) writes the table only.',
      ),
    ),
  FENCE_DB_URL: z
    .optional(z.string().check(z.minLength(1)))
    .check(
      z.describe(
        "Fence DB's connection URL (`postgres://…`) for `REGISTRY_SOURCE=postgres`: the CLI and the local runner. The admin Lambda reads it from `FENCE_DB_SECRET_ARN` instead.",
      ),
    ),
  FENCE_DB_SECRET_ARN: z
    .optional(z.string().check(z.minLength(1)))
    .check(
      z.describe(
        'The secret holding Fence DB\'s connection (an RDS database secret or `{"url": …}`), read through `@middy/secrets-manager`: the admin Lambda\'s way to `REGISTRY_SOURCE=postgres`.',
      ),
    ),
  FENCE_DB_SSL: z
    ._default(z.enum(FENCE_DB_SSL_MODES), 'verify')
    .check(
      z.describe(
        "How the connection to Fence DB is secured, by `FENCE_DB_URL` or `FENCE_DB_SECRET_ARN`: verified TLS unless set otherwise; a URL's weaker `sslmode` is refused, not obeyed.",
      ),
    ),
  ADMIN_PRINCIPAL_ARNS: z
    .optional(commaList(z.string().check(z.regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/))))
    .check(
      z.describe(
        'Principals allowed to call the admin API; the handler checks the caller itself too, so a Fence (runtime) caller that reaches it by any path is refused. Unset only for the CLI and the local runner, which do not take requests from others.',
      ),
    ),
  ADMIN_SECRET_RECOVERY_DAYS: z
    ._default(z.coerce.number().check(z.int(), z.minimum(7), z.maximum(30)), 7)
    .check(z.describe('Recovery window for a secret created by a registration that then failed.')),
  ASSUME_ROLE_DURATION_SECONDS: seconds(900).check(z.describe('Session length for role-mode proofs.')),
  /** Where the function's own calls to stores may go (SSRF): `network/store-endpoint-policy.ts`. */
  ...StoreEndpointEnvironment,
  MAX_URL_LIFETIME_SECONDS: RECORD_POLICY_ENVIRONMENT.MAX_URL_LIFETIME_SECONDS.check(
    z.describe("The deployment's cap on `max_expires_in`: registrations and patches above it are refused."),
  ),
});
export type AdminEnvironment = z.output<typeof AdminEnvironmentSchema>;
