import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

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
 * or its name behind a backend prefix), with the same filtered Scan as the URL lifetimes.
 */
export class DynamoDbSecretBuckets implements SecretBuckets {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async bucketsFor(secret: { name: string; arn: string }): Promise<SecretBucket[]> {
    const buckets: SecretBucket[] = [];
    let start: Record<string, never> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          FilterExpression: 'contains(#ref, :name)',
          ProjectionExpression: '#ref, bucket_name, #region',
          ExpressionAttributeNames: { '#ref': 'secret_ref', '#region': 'region' },
          ExpressionAttributeValues: { ':name': { S: secret.name } },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const ref = item.secret_ref?.S;
        const bucket = item.bucket_name?.S;
        if (ref === undefined || bucket === undefined) continue;
        if (ref !== secret.name && ref !== secret.arn && !ref.endsWith(`:${secret.name}`)) continue;
        const region = item.region?.S;
        buckets.push(region === undefined ? { bucket } : { bucket, region });
      }
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start !== undefined);
    return buckets.sort((a, b) => a.bucket.localeCompare(b.bucket));
  }
}
