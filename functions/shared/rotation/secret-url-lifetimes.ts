import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DEFAULT_MAX_EXPIRES_IN, SIGV4_MAX_EXPIRES_IN } from '../registry/bucket-record';

/** Where rotation learns how long URLs signed from a secret's keys may live. */
export interface SecretUrlLifetimes {
  /**
   * The longest `max_expires_in` of the buckets whose records refer to the secret, in seconds, or
   * undefined when no record does. May count buckets of other secrets too (never fewer).
   */
  longestFor(secret: { name: string; arn: string }): Promise<number | undefined>;
}

/**
 * Reads the registry table (the presign function's source of truth for `max_expires_in`) with a
 * Scan filtered on `contains(secret_ref, name)`: records may name the secret or its ARN, and both
 * contain the name. A name that is part of a longer name matches too, which only lengthens the
 * grace. Rotation runs a few times a month, so a Scan is affordable.
 */
export class DynamoDbSecretUrlLifetimes implements SecretUrlLifetimes {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async longestFor(secret: { name: string; arn: string }): Promise<number | undefined> {
    let longest: number | undefined;
    let start: Record<string, never> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          FilterExpression: 'contains(#ref, :name)',
          ProjectionExpression: '#max',
          ExpressionAttributeNames: { '#ref': 'secret_ref', '#max': 'max_expires_in' },
          ExpressionAttributeValues: { ':name': { S: secret.name } },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const lifetime = urlLifetimeOf(item.max_expires_in);
        longest = Math.max(longest ?? 0, lifetime);
      }
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start !== undefined);
    return longest;
  }
}

/**
 * A record's URL lifetime: a missing one is the schema's default, a malformed one counts as the
 * longest SigV4 allows (the record is broken, and the grace must not be short because of it).
 */
function urlLifetimeOf(attribute: { N?: string } | undefined): number {
  if (attribute === undefined) return DEFAULT_MAX_EXPIRES_IN;
  const value = attribute.N === undefined ? Number.NaN : Number(attribute.N);
  return Number.isFinite(value) && value > 0 ? value : SIGV4_MAX_EXPIRES_IN;
}
