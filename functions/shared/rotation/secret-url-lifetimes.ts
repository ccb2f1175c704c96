import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
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
    for await (const item of recordsNaming(this.client, this.tableName, secret.name, {
      '#max': 'max_expires_in',
    })) {
      longest = Math.max(longest ?? 0, urlLifetimeOf(item.max_expires_in));
    }
    return longest;
  }
}

/**
 * The registry records whose `secret_ref` contains a secret's name (a record may name the secret,
 * its ARN or its name behind a backend prefix, and all contain the name; a longer name that
 * contains it matches too, so callers that need the exact secret check `secret_ref` themselves),
 * with the attributes `projection` names: one consistent, filtered Scan, page by page.
 */
export async function* recordsNaming(
  client: DynamoDBClient,
  tableName: string,
  secretName: string,
  projection: Record<string, string>,
): AsyncGenerator<Record<string, AttributeValue>> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: 'contains(#ref, :name)',
        ProjectionExpression: ['#ref', ...Object.keys(projection)].join(', '),
        ExpressionAttributeNames: { '#ref': 'secret_ref', ...projection },
        ExpressionAttributeValues: { ':name': { S: secretName } },
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    yield* page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
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
