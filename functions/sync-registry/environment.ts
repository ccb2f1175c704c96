import * as z from 'zod/mini';
import { positiveInteger } from '../shared/config/environment';
import { StoreEndpointEnvironment } from '../shared/network/store-endpoint-policy';
import { FENCE_DB_SSL_MODES } from '../shared/registry/fence-db-connection';
import { RECORD_POLICY_ENVIRONMENT } from '../shared/registry/record-policy';
import { DEFAULT_DELETE_CAP, DEFAULT_SYNC_CONCURRENCY } from '../shared/registry/registry-sync';

/** The sync function's environment; the CDK construct is typed by the same schema. */
export const SyncEnvironmentSchema = z.object({
  REGISTRY_TABLE_NAME: z
    .string()
    .check(z.minLength(3))
    .check(z.describe('The DynamoDB registry table the presign path reads.')),
  FENCE_DB_SECRET_ARN: z
    .string()
    .check(z.minLength(1))
    .check(
      z.describe(
        'The secret holding Fence DB\'s connection: an RDS database secret (`host`, `port`, `username`, `password`, `dbname`) or `{"url": "postgres://…"}`. Read through `@middy/secrets-manager`.',
      ),
    ),
  FENCE_DB_SSL: z
    ._default(z.enum(FENCE_DB_SSL_MODES), 'verify')
    .check(z.describe('`verify` (TLS with a checked certificate), `require` (TLS, unchecked) or `disable`.')),
  SYNC_CONCURRENCY: z
    ._default(positiveInteger(), DEFAULT_SYNC_CONCURRENCY)
    .check(z.describe('DynamoDB write requests in flight at once.')),
  /**
   * The record policy every Fence DB row must hold to be mirrored: the secrets prefix and the
   * `max_expires_in` cap, the values the admin and presign functions hold.
   */
  ...RECORD_POLICY_ENVIRONMENT,
  /** Where a row's endpoint may point: the admin and presign functions' store-endpoint policy. */
  ...StoreEndpointEnvironment,
  SYNC_MAX_DELETE_FRACTION: z
    ._default(z.coerce.number().check(z.minimum(0), z.maximum(1)), DEFAULT_DELETE_CAP.fraction)
    .check(z.describe('The share of the mirror (0–1) one run may delete; past it the run deletes nothing.')),
  SYNC_MAX_DELETES_FLOOR: z
    ._default(z.coerce.number().check(z.int(), z.minimum(0)), DEFAULT_DELETE_CAP.floor)
    .check(z.describe('Deletes one run may always make, however small the mirror.')),
});
export type SyncEnvironment = z.output<typeof SyncEnvironmentSchema>;
