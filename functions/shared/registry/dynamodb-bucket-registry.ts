import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type AwsCallOptions, AwsJsonClient, AwsServiceError } from '../aws/aws-json-client';
import {
  BucketExistsError,
  BucketRecordShapeError,
  InvalidRequestError,
  RegistryUnavailableError,
  RevisionConflictError,
  ThrottledError,
  UnknownBucketError,
} from '../errors';
import { parseRequest } from '../validation';
import {
  applyBucketChanges,
  type BucketChanges,
  BucketChangesSchema,
  type BucketRecord,
  type BucketRegistration,
  newBucketRecord,
  readStoredRecord,
} from './bucket-record';
import type { BucketPage, BucketRegistry, ListOptions } from './bucket-registry';

/** Key layout shared with the CDK table construct, so the two cannot drift apart. */
export const REGISTRY_TABLE_KEYS = {
  partitionKey: 'bucket_name',
  idIndexName: 'by-id',
  idIndexKey: 'id',
} as const;

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export interface DynamoDbBucketRegistryOptions {
  /** Endpoint override (else the SDK's environment variables). */
  endpoint?: string;
  region?: string;
  /** The most one hot-path read may take, retries included. @default 2000 */
  budgetMs?: number;
  /** @default () => new Date() */
  clock?: () => Date;
}

/**
 * The registry in DynamoDB: one item per bucket, keyed by bucket name so the presign hot path is
 * one `GetItem`; a global secondary index on `id` serves the admin routes. The hot-path read
 * goes through the small JSON client; every other call loads the SDK's document client when
 * first needed, so the presign function never pays its start-up cost.
 */
export class DynamoDbBucketRegistry implements BucketRegistry {
  private readonly reads: AwsJsonClient;
  private readonly clock: () => Date;
  private documentsClient: Promise<DynamoDBDocumentClient> | undefined;

  constructor(
    readonly tableName: string,
    private readonly options: DynamoDbBucketRegistryOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.reads = new AwsJsonClient({
      service: 'dynamodb',
      targetPrefix: 'DynamoDB_20120810',
      jsonVersion: '1.0',
      endpointEnvSuffix: 'DYNAMODB',
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.budgetMs === undefined ? {} : { budgetMs: options.budgetMs }),
    });
  }

  async getByName(bucketName: string, options: AwsCallOptions = {}): Promise<BucketRecord | undefined> {
    let answer: { Item?: Parameters<typeof unmarshall>[0] };
    try {
      answer = await this.reads.call(
        'GetItem',
        { TableName: this.tableName, Key: { [REGISTRY_TABLE_KEYS.partitionKey]: { S: bucketName } } },
        options,
      );
    } catch (error) {
      throw registryReadError(error);
    }
    return answer.Item === undefined ? undefined : readStoredRecord(unmarshall(answer.Item), bucketName);
  }

  /** The SDK's document client and commands, loaded on first use (admin and sync paths only). */
  private async sdk() {
    const [dynamodb, lib] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('@aws-sdk/lib-dynamodb'),
    ]);
    this.documentsClient ??= Promise.resolve(
      lib.DynamoDBDocumentClient.from(
        new dynamodb.DynamoDBClient({
          ...(this.options.endpoint === undefined ? {} : { endpoint: this.options.endpoint }),
          ...(this.options.region === undefined ? {} : { region: this.options.region }),
        }),
      ),
    );
    return {
      documents: await this.documentsClient,
      ...lib,
      ConditionalCheckFailedException: dynamodb.ConditionalCheckFailedException,
    };
  }

  async getById(id: string): Promise<BucketRecord | undefined> {
    const { documents, QueryCommand } = await this.sdk();
    const { Items } = await documents.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: REGISTRY_TABLE_KEYS.idIndexName,
        KeyConditionExpression: '#id = :id',
        ExpressionAttributeNames: { '#id': REGISTRY_TABLE_KEYS.idIndexKey },
        ExpressionAttributeValues: { ':id': id },
      }),
    );
    const bucketName = Items?.[0]?.[REGISTRY_TABLE_KEYS.partitionKey];
    // The index is eventually consistent; the base table read is not.
    return typeof bucketName === 'string' ? this.getByName(bucketName) : undefined;
  }

  async list(options: ListOptions = {}): Promise<BucketPage> {
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new InvalidRequestError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, 'limit');
    }
    const { documents, ScanCommand } = await this.sdk();
    const { Items, LastEvaluatedKey } = await documents.send(
      new ScanCommand({
        TableName: this.tableName,
        Limit: limit,
        ConsistentRead: true,
        ExclusiveStartKey: options.cursor === undefined ? undefined : decodeCursor(options.cursor),
      }),
    );
    const records: BucketRecord[] = [];
    const malformed: BucketRecordShapeError[] = [];
    for (const item of Items ?? []) {
      try {
        records.push(readStoredRecord(item));
      } catch (error) {
        if (!(options.tolerateMalformed === true && error instanceof BucketRecordShapeError)) throw error;
        malformed.push(error);
      }
    }
    return {
      records,
      ...(LastEvaluatedKey === undefined ? {} : { cursor: encodeCursor(LastEvaluatedKey) }),
      ...(options.tolerateMalformed === true ? { malformed } : {}),
    };
  }

  async create(registration: BucketRegistration): Promise<BucketRecord> {
    const record = newBucketRecord(registration, this.clock());
    const { documents, PutCommand, ConditionalCheckFailedException } = await this.sdk();
    try {
      await documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: 'attribute_not_exists(#name)',
          ExpressionAttributeNames: { '#name': REGISTRY_TABLE_KEYS.partitionKey },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new BucketExistsError(record.bucket_name);
      throw error;
    }
    return record;
  }

  async update(id: string, expectedRevision: number, changes: BucketChanges): Promise<BucketRecord> {
    const current = await this.getById(id);
    if (current === undefined) throw new UnknownBucketError(id);
    if (current.revision !== expectedRevision) throw staleRevision(id, expectedRevision, current.revision);
    const next = applyBucketChanges(current, parseRequest(BucketChangesSchema, changes), this.clock());
    const { documents, PutCommand, ConditionalCheckFailedException } = await this.sdk();
    try {
      await documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: next,
          ConditionExpression: '#revision = :expected',
          ExpressionAttributeNames: { '#revision': 'revision' },
          ExpressionAttributeValues: { ':expected': expectedRevision },
        }),
      );
    } catch (error) {
      // Someone else wrote between our read and our write.
      if (error instanceof ConditionalCheckFailedException) {
        throw new RevisionConflictError(`bucket ${id} changed concurrently; read it again and retry`);
      }
      throw error;
    }
    return next;
  }
}

/**
 * A failed hot-path read: throttling is 429, an outage or a spent budget is 503 (both with
 * Retry-After). Other refusals (a missing table, denied access) are the deployment's fault and
 * stay unexpected errors, logged as such.
 */
function registryReadError(error: unknown): Error {
  if (error instanceof AwsServiceError) {
    if (error.throttling) {
      return new ThrottledError('the registry throttled the read', { cause: error, retryAfterSeconds: 1 });
    }
    if (error.statusCode < 500) return error;
  }
  return new RegistryUnavailableError(
    `the registry did not answer in time or could not be reached (${error instanceof Error ? error.name : 'error'})`,
    { cause: error },
  );
}

function staleRevision(id: string, expected: number, stored: number): RevisionConflictError {
  return new RevisionConflictError(`bucket ${id} is at revision ${stored}, not ${expected}`);
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof key === 'object' && key !== null && !Array.isArray(key)) {
      const name = (key as Record<string, unknown>)[REGISTRY_TABLE_KEYS.partitionKey];
      if (typeof name === 'string' && Object.keys(key).length === 1) return key as Record<string, unknown>;
    }
  } catch {
    // fall through to the error below
  }
  throw new InvalidRequestError('cursor is not one this registry issued', 'cursor');
}
