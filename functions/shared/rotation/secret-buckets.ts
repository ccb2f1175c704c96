import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { recordsNaming } from './secret-url-lifetimes';

/** A bucket a secret's keys sign for, where testSecret proves a new key. */
export interface SecretBucket {
  bucket: string;
  region?: string;
}

/** Where rotation learns which buckets use a secret (the registry). */
export interface SecretBuckets {
  bucketsFor(secret: { name: string; arn: string }): Promise<SecretBucket[]>;
}

/**
 * Reads the registry table for the records whose `secret_ref` is the secret (its name, its ARN,
 * or its name behind a backend prefix), through the same filtered Scan as the URL lifetimes.
 */
export class DynamoDbSecretBuckets implements SecretBuckets {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async bucketsFor(secret: { name: string; arn: string }): Promise<SecretBucket[]> {
    const buckets: SecretBucket[] = [];
    const projection = { '#bucket': 'bucket_name', '#region': 'region' };
    for await (const item of recordsNaming(this.client, this.tableName, secret.name, projection)) {
      const ref = item.secret_ref?.S;
      const bucket = item.bucket_name?.S;
      if (ref === undefined || bucket === undefined) continue;
      if (ref !== secret.name && ref !== secret.arn && !ref.endsWith(`:${secret.name}`)) continue;
      const region = item.region?.S;
      buckets.push(region === undefined ? { bucket } : { bucket, region });
    }
    return buckets.sort((a, b) => a.bucket.localeCompare(b.bucket));
  }
}
