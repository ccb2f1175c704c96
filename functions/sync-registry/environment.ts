import * as z from 'zod/mini';
import { positiveInteger } from '../shared/config/environment';
import { FENCE_DB_SSL_MODES } from '../shared/registry/fence-db-connection';
import { DEFAULT_SYNC_CONCURRENCY } from '../shared/registry/registry-sync';

/** The sync function's environment; the CDK construct is typed by the same schema. */
export const SyncEnvironmentSchema = z.object({
  /** The DynamoDB registry table the presign path reads. */
  REGISTRY_TABLE_NAME: z.string().check(z.minLength(3)),
  /**
   * The secret holding Fence DB's connection: an RDS database secret (`host`, `port`,
   * `username`, `password`, `dbname`) or `{"url": "postgres://…"}`. Read through
   * `@middy/secrets-manager`.
   */
  FENCE_DB_SECRET_ARN: z.string().check(z.minLength(1)),
  /** `verify` (TLS with a checked certificate), `require` (TLS, unchecked) or `disable`. */
  FENCE_DB_SSL: z._default(z.enum(FENCE_DB_SSL_MODES), 'verify'),
  /** DynamoDB write requests in flight at once. */
  SYNC_CONCURRENCY: z._default(positiveInteger(), DEFAULT_SYNC_CONCURRENCY),
});
export type SyncEnvironment = z.output<typeof SyncEnvironmentSchema>;
