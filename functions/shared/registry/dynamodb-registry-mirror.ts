import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { BucketMisconfiguredError } from '../errors';
import { type BucketRecord, readStoredRecord } from './bucket-record';
import { REGISTRY_TABLE_KEYS } from './dynamodb-bucket-registry';

/**
 * One item of the mirror as the sync sees it. `created_at` and `revision` are the stored
 * attributes as they are (whatever their type), so a delete can be made conditional on exactly
 * what was scanned.
 */
export interface MirrorEntry {
  bucket_name: string;
  created_at: unknown;
  revision: unknown;
  /** The whole item as a record, when the scan read items whole and it parsed. */
  record?: BucketRecord;
  /** Why the whole item is not a readable record (it is still there, and still overwritten or deleted). */
  error?: BucketMisconfiguredError;
}

export type MirrorPutOutcome = 'written' | 'skipped';

/** A record an unconditional batch could not write, and why. */
export interface MirrorBatchFailure {
  bucket_name: string;
  error: unknown;
}

/** Items per BatchWriteItem request (DynamoDB's limit). */
const BATCH_SIZE = 25;
/** Attempts at the items a batch leaves unprocessed (throttling), with growing pauses. */
const BATCH_ATTEMPTS = 8;

/**
 * What a mirror write may replace: `older`, no item or an older version of the bucket; or
 * exactly the item version given (stored attributes as scanned, whatever their type).
 */
export type MirrorWriteGuard = 'older' | Pick<MirrorEntry, 'created_at' | 'revision'>;

export interface DynamoDbRegistryMirrorOptions {
  /** A client of your own (e.g. with extra middleware). @default a DynamoDBClient from the environment */
  client?: DynamoDBClient;
}

/**
 * The DynamoDB registry table as the mirror of Fence DB: records are written as they are (the
 * source's id, timestamps and revision), only over an older version of the same bucket, so no
 * writer, however late, puts back what a newer write replaced.
 *
 * A record's version is `(created_at, revision)`: a bucket deleted and registered again in Fence
 * DB starts over at revision 1, and its later `created_at` is what makes it newer than the
 * deleted record still in the mirror. Timestamps are ISO 8601 in UTC with milliseconds, which
 * compare as strings in time order.
 */
export class DynamoDbRegistryMirror {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    readonly tableName: string,
    options: DynamoDbRegistryMirrorOptions = {},
  ) {
    this.documents = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}));
  }

  /**
   * Writes `record` if the mirror has no item for its bucket or an older version of it
   * (`guard` `older`, the default), or only over exactly the item version given (to replace an
   * item that differs from its source at the same version, or cannot be read).
   */
  async put(record: BucketRecord, guard: MirrorWriteGuard = 'older'): Promise<MirrorPutOutcome> {
    const names: Record<string, string> = { '#created': 'created_at', '#revision': 'revision' };
    let condition: string;
    let values: Record<string, unknown>;
    if (guard === 'older') {
      names['#name'] = REGISTRY_TABLE_KEYS.partitionKey;
      condition =
        'attribute_not_exists(#name) OR attribute_not_exists(#created) OR #created < :created OR (#created = :created AND #revision < :revision)';
      values = { ':created': record.created_at, ':revision': record.revision };
    } else {
      ({ condition, values } = exactly(guard));
    }
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: values }),
        }),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'skipped';
      throw error;
    }
  }

  /**
   * Writes `records` unconditionally, 25 to a BatchWriteItem request, `concurrency` requests in
   * flight; items DynamoDB leaves unprocessed are sent again with jittered, growing pauses.
   * Only for a caller that guarantees no newer version exists meanwhile (the sync holds the
   * source's rows locked). Returns the records it could not write.
   */
  async putBatch(
    records: readonly BucketRecord[],
    options: { concurrency: number },
  ): Promise<MirrorBatchFailure[]> {
    const batches: BucketRecord[][] = [];
    for (let start = 0; start < records.length; start += BATCH_SIZE) {
      batches.push(records.slice(start, start + BATCH_SIZE));
    }
    const failures: MirrorBatchFailure[] = [];
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++] ?? [];
        try {
          for (const record of await this.writeBatch(batch)) {
            failures.push({
              bucket_name: record.bucket_name,
              error: new Error('DynamoDB left the item unprocessed (throttled)'),
            });
          }
        } catch (error) {
          for (const record of batch) failures.push({ bucket_name: record.bucket_name, error });
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(options.concurrency, batches.length)) }, worker),
    );
    return failures;
  }

  /** One batch, sent again until DynamoDB processed all of it or the attempts are spent; returns what is left. */
  private async writeBatch(batch: readonly BucketRecord[]): Promise<BucketRecord[]> {
    let pending = [...batch];
    for (let attempt = 0; attempt < BATCH_ATTEMPTS && pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.random() * Math.min(2000, 50 * 2 ** attempt));
      const answer = await this.documents.send(
        new BatchWriteCommand({
          RequestItems: { [this.tableName]: pending.map((record) => ({ PutRequest: { Item: record } })) },
        }),
      );
      const left = new Set(
        (answer.UnprocessedItems?.[this.tableName] ?? []).map((request) =>
          String(request.PutRequest?.Item?.[REGISTRY_TABLE_KEYS.partitionKey]),
        ),
      );
      pending = pending.filter((record) => left.has(record.bucket_name));
    }
    return pending;
  }

  /** Deletes the item of `entry` if it is still exactly the version that was scanned. */
  async remove(
    entry: Pick<MirrorEntry, 'bucket_name' | 'created_at' | 'revision'>,
  ): Promise<'deleted' | 'skipped'> {
    const { condition, values } = exactly(entry);
    try {
      await this.documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [REGISTRY_TABLE_KEYS.partitionKey]: entry.bucket_name },
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#created': 'created_at', '#revision': 'revision' },
          ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: values }),
        }),
      );
      return 'deleted';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'skipped';
      throw error;
    }
  }

  /**
   * Every item, a page (up to 1 MB) at a time, strongly consistent. By default only the bucket
   * name and version attributes are read back (what the sync compares); `whole` reads each item
   * entirely and parses it on its own (a malformed item is an entry with its error).
   */
  async *scan(options: { whole?: boolean } = {}): AsyncGenerator<MirrorEntry[]> {
    let start: ScanCommandOutput['LastEvaluatedKey'];
    do {
      const page: ScanCommandOutput = await this.documents.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ...(options.whole
            ? {}
            : {
                ProjectionExpression: '#name, #created, #revision',
                ExpressionAttributeNames: {
                  '#name': REGISTRY_TABLE_KEYS.partitionKey,
                  '#created': 'created_at',
                  '#revision': 'revision',
                },
              }),
        }),
      );
      yield (page.Items ?? []).map((item): MirrorEntry => {
        const bucketName = String(item[REGISTRY_TABLE_KEYS.partitionKey]);
        const entry: MirrorEntry = {
          bucket_name: bucketName,
          created_at: item.created_at,
          revision: item.revision,
        };
        if (!options.whole) return entry;
        try {
          entry.record = readStoredRecord(item, bucketName);
        } catch (error) {
          entry.error = error as BucketMisconfiguredError;
        }
        return entry;
      });
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }
}

/** A condition that holds only while the item's version attributes are exactly these (or absent, if absent). */
function exactly(version: Pick<MirrorEntry, 'created_at' | 'revision'>): {
  condition: string;
  values: Record<string, unknown>;
} {
  const values: Record<string, unknown> = {};
  const test = (name: '#created' | '#revision', placeholder: string, value: unknown) => {
    if (value === undefined) return `attribute_not_exists(${name})`;
    values[placeholder] = value;
    return `${name} = ${placeholder}`;
  };
  return {
    condition: `${test('#created', ':created', version.created_at)} AND ${test('#revision', ':revision', version.revision)}`,
    values,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
