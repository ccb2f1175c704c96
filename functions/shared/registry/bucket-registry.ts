import type { BucketRecordShapeError } from '../errors';
import type { BucketChanges, BucketRecord, BucketRegistration } from './bucket-record';

/** One page of a registry listing; `cursor` is absent on the last page. */
export interface BucketPage {
  records: BucketRecord[];
  cursor?: string;
  /** With `tolerateMalformed`: the page's records that break the schema, each naming its bucket and field. */
  malformed?: BucketRecordShapeError[];
}

export interface ListOptions {
  /** Page size, 1–1000; the registry may return fewer. */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
  /**
   * Return records that break the schema in `malformed` instead of failing the page (the drift
   * check reports them; one bad record must not hide the others). @default false
   */
  tolerateMalformed?: boolean;
}

/**
 * Where bucket records live. The presign hot path only calls `getByName`; everything else is for
 * admin flows, the sync job and the drift check.
 */
export interface BucketRegistry {
  /**
   * The record for `bucketName`, in a single read, or undefined. `deadline` (epoch ms) bounds
   * the read; past it, or past the registry's own budget, it fails with a retryable error.
   */
  getByName(bucketName: string, options?: { deadline?: number }): Promise<BucketRecord | undefined>;
  getById(id: string): Promise<BucketRecord | undefined>;
  list(options?: ListOptions): Promise<BucketPage>;
  /** Stores a new record at revision 1; throws `BucketExistsError` if the name is taken. */
  create(registration: BucketRegistration): Promise<BucketRecord>;
  /**
   * Applies `changes` if the stored revision is still `expectedRevision`, else throws
   * `RevisionConflictError`; throws `UnknownBucketError` when there is no such record.
   */
  update(id: string, expectedRevision: number, changes: BucketChanges): Promise<BucketRecord>;
}
