import { DatabaseError, type Pool, type PoolConfig, type QueryResultRow } from 'pg';
import {
  BucketExistsError,
  type BucketMisconfiguredError,
  InvalidRequestError,
  RegistryUnavailableError,
  RevisionConflictError,
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
import type { BucketPage, BucketRegistry, ListOptions, StoredEntry } from './bucket-registry';
import { openFenceDbPool } from './fence-db-connection';

/** The registry table of Fence DB (`db/migrations/0001_fence_bucket_registry.sql`). */
export const FENCE_DB_REGISTRY_TABLE = 'fence_bucket_registry';

/** Columns in record order. The database sets `created_at`, `updated_at` and `revision` itself. */
const COLUMNS = [
  'id',
  'bucket_name',
  'provider',
  'auth_mode',
  'secrets_backend',
  'secret_ref',
  'secret_version',
  'role_arn',
  'external_id',
  'gcp_service_account',
  'kms_key_ref',
  'endpoint',
  'region',
  'allowed_ops',
  'max_expires_in',
  'status',
  'created_at',
  'updated_at',
  'revision',
] as const satisfies readonly (keyof BucketRecord)[];

/** Columns a write supplies; the trigger owns the rest. */
const WRITTEN = COLUMNS.filter(
  (column) => column !== 'created_at' && column !== 'updated_at' && column !== 'revision',
);
/** Columns an update may change: never the id or the name. */
const CHANGEABLE = WRITTEN.filter((column) => column !== 'id' && column !== 'bucket_name');
const SELECT = `SELECT ${COLUMNS.join(', ')} FROM ${FENCE_DB_REGISTRY_TABLE}`;

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

export interface PostgresBucketRegistryOptions {
  /** The most one `getByName` may take when no deadline is given. @default 5000 */
  budgetMs?: number;
  /** @default () => new Date() (only for validating a write; the database stamps the record) */
  clock?: () => Date;
}

/**
 * The registry in Fence DB (PostgreSQL), the registry of record when `REGISTRY_SOURCE=postgres`.
 * Parameterized SQL only. The database keeps `revision` and the timestamps (a trigger), so a
 * row edited by hand still gets a new revision and reaches the DynamoDB mirror at the next sync.
 * Rows are read through the same tolerant record schema as DynamoDB's items.
 */
export class PostgresBucketRegistry implements BucketRegistry {
  private readonly clock: () => Date;
  private readonly budgetMs: number;

  constructor(
    readonly pool: Pool,
    options: PostgresBucketRegistryOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.budgetMs = options.budgetMs ?? 5000;
  }

  /**
   * A registry on its own connection pool. Idle connections do not keep a CLI process alive;
   * `close()` ends the pool.
   */
  static connect(config: PoolConfig, options: PostgresBucketRegistryOptions = {}): PostgresBucketRegistry {
    return new PostgresBucketRegistry(openFenceDbPool(config), options);
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  async getByName(
    bucketName: string,
    options: { deadline?: number } = {},
  ): Promise<BucketRecord | undefined> {
    const budget =
      options.deadline === undefined ? this.budgetMs : Math.max(1, options.deadline - Date.now());
    const rows = await this.query(`${SELECT} WHERE bucket_name = $1`, [bucketName], budget);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async getById(id: string): Promise<BucketRecord | undefined> {
    // Not a uuid: no such record (the column would refuse the comparison).
    if (!UUID.test(id)) return undefined;
    const rows = await this.query(`${SELECT} WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async list(options: ListOptions = {}): Promise<BucketPage> {
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new InvalidRequestError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, 'limit');
    }
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    // One row more than the page tells whether there is a next page.
    const rows =
      after === undefined
        ? await this.query(`${SELECT} ORDER BY bucket_name LIMIT $1`, [limit + 1])
        : await this.query(`${SELECT} WHERE bucket_name > $1 ORDER BY bucket_name LIMIT $2`, [
            after,
            limit + 1,
          ]);
    const records = rows.slice(0, limit).map((row) => toRecord(row));
    const last = records.at(-1);
    return rows.length > limit && last !== undefined
      ? { records, cursor: encodeCursor(last.bucket_name) }
      : { records };
  }

  async create(registration: BucketRegistration): Promise<BucketRecord> {
    const record = newBucketRecord(registration, this.clock());
    const placeholders = WRITTEN.map((_, index) => `$${index + 1}`).join(', ');
    try {
      const rows = await this.query(
        `INSERT INTO ${FENCE_DB_REGISTRY_TABLE} (${WRITTEN.join(', ')}) VALUES (${placeholders}) RETURNING ${COLUMNS.join(', ')}`,
        WRITTEN.map((column) => record[column]),
      );
      return toRecord(rows[0] as QueryResultRow);
    } catch (error) {
      if (isUniqueViolation(error, 'bucket_name')) {
        throw new BucketExistsError(record.bucket_name, { cause: error });
      }
      if (isUniqueViolation(error, 'pkey')) {
        throw new InvalidRequestError(`a bucket with id ${record.id} is already registered`, 'id');
      }
      throw error;
    }
  }

  async update(id: string, expectedRevision: number, changes: BucketChanges): Promise<BucketRecord> {
    const current = await this.getById(id);
    if (current === undefined) throw new UnknownBucketError(id);
    if (current.revision !== expectedRevision) {
      throw new RevisionConflictError(
        `bucket ${id} is at revision ${current.revision}, not ${expectedRevision}`,
      );
    }
    // The whole record is checked before anything is written, as every registry does.
    const next = applyBucketChanges(current, parseRequest(BucketChangesSchema, changes), this.clock());
    const assignments = CHANGEABLE.map((column, index) => `${column} = $${index + 3}`).join(', ');
    const rows = await this.query(
      `UPDATE ${FENCE_DB_REGISTRY_TABLE} SET ${assignments} WHERE id = $1 AND revision = $2 RETURNING ${COLUMNS.join(', ')}`,
      [id, expectedRevision, ...CHANGEABLE.map((column) => next[column])],
    );
    if (rows[0] !== undefined) return toRecord(rows[0]);
    // Someone else wrote (or deleted it) between our read and our write.
    const now = await this.getById(id);
    if (now === undefined) throw new UnknownBucketError(id);
    throw new RevisionConflictError(`bucket ${id} changed concurrently; read it again and retry`);
  }

  /**
   * Every row in bucket-name order, `batchSize` at a time (keyset pages), each read on its own:
   * a row that breaks the schema is an entry with its error, not the end of the listing. For
   * the sync, which must not mistake an unreadable row for a deleted one.
   */
  async *entries(batchSize = MAX_PAGE_SIZE): AsyncGenerator<StoredEntry[]> {
    let after: string | undefined;
    for (;;) {
      const rows =
        after === undefined
          ? await this.query(`${SELECT} ORDER BY bucket_name LIMIT $1`, [batchSize])
          : await this.query(`${SELECT} WHERE bucket_name > $1 ORDER BY bucket_name LIMIT $2`, [
              after,
              batchSize,
            ]);
      if (rows.length === 0) return;
      yield rows.map(toEntry);
      if (rows.length < batchSize) return;
      after = String(rows.at(-1)?.bucket_name);
    }
  }

  /**
   * Runs `work` on the current rows of `names`, locked `FOR SHARE` in one transaction until it
   * returns: no update or delete of them commits meanwhile (such a write waits), so `work` sees
   * the newest version there will be until then. For the sync's batched writes.
   */
  async withRecordsLocked<T>(
    names: readonly string[],
    work: (entries: StoredEntry[]) => Promise<T>,
  ): Promise<T> {
    const client = await this.pool.connect().catch((error: unknown) => {
      throw registryError(error);
    });
    let broken = false;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(
        `${SELECT} WHERE bucket_name = ANY($1::text[]) ORDER BY bucket_name FOR SHARE`,
        [names],
      );
      const result = await work(rows.map(toEntry));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw registryError(error);
    } finally {
      client.release(broken);
    }
  }

  private async query(text: string, values: unknown[], timeoutMs?: number): Promise<QueryResultRow[]> {
    try {
      const result = await this.pool.query({
        text,
        values,
        ...(timeoutMs === undefined ? {} : { query_timeout: timeoutMs }),
      });
      return result.rows;
    } catch (error) {
      throw registryError(error);
    }
  }
}

/** A row read on its own: its record, or why it is not one. */
function toEntry(row: QueryResultRow): StoredEntry {
  const bucketName = String(row.bucket_name);
  try {
    return { bucket_name: bucketName, record: toRecord(row) };
  } catch (error) {
    return { bucket_name: bucketName, error: error as BucketMisconfiguredError };
  }
}

/** A row as a record: timestamps as ISO strings, then the stored-record schema (tolerant read). */
function toRecord(row: QueryResultRow): BucketRecord {
  const raw: Record<string, unknown> = { ...row };
  for (const column of ['created_at', 'updated_at'] as const) {
    const value = raw[column];
    if (value instanceof Date) raw[column] = value.toISOString();
  }
  return readStoredRecord(raw, typeof row.bucket_name === 'string' ? row.bucket_name : undefined);
}

function isUniqueViolation(error: unknown, constraintPart: string): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === UNIQUE_VIOLATION && typeof constraint === 'string' && constraint.includes(constraintPart);
}

/**
 * The database could not be reached, dropped the connection, is shutting down or out of
 * resources, or the query ran out of time: retryable, 503. Anything else (a constraint, a
 * missing table) passes through as it is.
 */
function registryError(error: unknown): unknown {
  if (error instanceof DatabaseError) {
    return /^(08|53|57P)/.test(error.code ?? '') ? unavailable(error, error.code) : error;
  }
  // Socket errors (ECONNREFUSED, ETIMEDOUT, …) and pg's own timeouts and dropped connections.
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return unavailable(error, code);
  if (typeof message === 'string' && /timeout|terminated|Connection/i.test(message)) {
    return unavailable(error, message);
  }
  return error;
}

function unavailable(cause: unknown, reason: string | undefined): RegistryUnavailableError {
  return new RegistryUnavailableError(
    `Fence DB did not answer in time or could not be reached (${reason ?? 'error'})`,
    { cause },
  );
}

function encodeCursor(bucketName: string): string {
  return Buffer.from(JSON.stringify({ after: bucketName })).toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof key === 'object' && key !== null && !Array.isArray(key) && Object.keys(key).length === 1) {
      const after = (key as { after?: unknown }).after;
      if (typeof after === 'string') return after;
    }
  } catch {
    // fall through to the error below
  }
  throw new InvalidRequestError('cursor is not one this registry issued', 'cursor');
}
