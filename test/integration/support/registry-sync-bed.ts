import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { BucketRecord } from '../../../functions/shared/registry/bucket-record';
import { DynamoDbRegistryMirror } from '../../../functions/shared/registry/dynamodb-registry-mirror';
import {
  FENCE_DB_REGISTRY_TABLE,
  PostgresBucketRegistry,
} from '../../../functions/shared/registry/postgres-bucket-registry';
import { countingDynamoDb, createRegistryTable, dynamoDb } from './aws';
import { type FenceDbUnderTest, freshFenceDb } from './fence-db';

export const BUCKET_ROLE = 'arn:aws:iam::123456789012:role/gen3-bucket-access';

/** A migrated Fence DB of its own, an empty registry table, and the pieces the sync joins. */
export interface SyncBed {
  db: FenceDbUnderTest;
  tableName: string;
  source: PostgresBucketRegistry;
  /** The mirror on a client that counts its writes. */
  mirror: DynamoDbRegistryMirror;
  writes: () => number;
  dispose(): Promise<void>;
}

export async function syncBed(): Promise<SyncBed> {
  const db = await freshFenceDb();
  const tableName = await createRegistryTable(dynamoDb());
  const source = PostgresBucketRegistry.connect({ connectionString: db.url });
  const { client, writes } = countingDynamoDb();
  return {
    db,
    tableName,
    source,
    mirror: new DynamoDbRegistryMirror(tableName, { client }),
    writes,
    dispose: async () => {
      await source.close();
      await db.drop();
    },
  };
}

/** Inserts `count` role buckets named `<prefix>-00001`… in one statement, as a bulk import would. */
export async function insertRows(db: FenceDbUnderTest, count: number, prefix = 'bucket'): Promise<void> {
  await db.pool.query(
    `INSERT INTO ${FENCE_DB_REGISTRY_TABLE} (id, bucket_name, provider, auth_mode, role_arn, region, allowed_ops)
     SELECT gen_random_uuid(), $1 || '-' || lpad(i::text, 5, '0'), 'aws', 'role', $2, 'us-east-1', ARRAY['download']
     FROM generate_series(1, $3::int) AS i`,
    [prefix, BUCKET_ROLE, count],
  );
}

/** Every item of the registry table, by bucket name (a strongly consistent scan). */
export async function mirrorItems(tableName: string): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  const client = dynamoDb();
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      const value = unmarshall(item);
      items.set(String(value.bucket_name), value);
    }
    start = page.LastEvaluatedKey as typeof start;
  } while (start !== undefined);
  return items;
}

/** Every record of Fence DB, by bucket name. */
export async function sourceRecords(source: PostgresBucketRegistry): Promise<Map<string, BucketRecord>> {
  const records = new Map<string, BucketRecord>();
  for await (const batch of source.entries()) {
    for (const entry of batch) if (entry.record !== undefined) records.set(entry.bucket_name, entry.record);
  }
  return records;
}
