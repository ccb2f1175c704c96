import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PoolConfig } from 'pg';
import { DynamoDbRegistryMirror } from '../shared/registry/dynamodb-registry-mirror';
import { PostgresBucketRegistry } from '../shared/registry/postgres-bucket-registry';
import { type SyncOptions, type SyncReport, syncRegistry } from '../shared/registry/registry-sync';

export interface RegistrySyncTarget {
  /** Fence DB's connection (the sync reads it one batch at a time). */
  connection: PoolConfig;
  /** The DynamoDB registry table. */
  tableName: string;
  /** A DynamoDB client of your own. @default one from the environment (AWS_REGION, AWS_ENDPOINT_URL, …) */
  dynamoDb?: DynamoDBClient;
}

/**
 * One sync of Fence DB into the DynamoDB registry table, on a connection of its own that is
 * closed afterwards. The composition root shared by the sync Lambda and `fence-buckets sync`.
 */
export async function runRegistrySync(
  target: RegistrySyncTarget,
  options: SyncOptions = {},
): Promise<SyncReport> {
  const source = PostgresBucketRegistry.connect({ max: 1, ...target.connection });
  try {
    const mirror = new DynamoDbRegistryMirror(
      target.tableName,
      target.dynamoDb === undefined ? {} : { client: target.dynamoDb },
    );
    return await syncRegistry(source, mirror, options);
  } finally {
    await source.close();
  }
}
