import type { BucketMisconfiguredError, BucketRecordShapeError } from '../errors';
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
 * A stored record as a bulk reader (the sync) sees it: the record, or why it cannot be read. A
 * record that breaks the schema is still there: it must not pass for a deleted one.
 */
export type StoredEntry =
  | { bucket_name: string; record: BucketRecord; error?: undefined }
  | { bucket_name: string; record?: undefined; error: BucketMisconfiguredError };

/** What became of a write beyond the registry of record (see `BucketRegistry.mirrorOutcome`). */
export type MirrorOutcome = 'mirrored' | 'mirror_failed';

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
  /**
   * For a registry that writes its records through to a mirror: what became of the mirror write
   * of the create or update that returned `record` (`mirror_failed`: the record is saved, the
   * mirror missed it and the sync will heal it). Undefined for registries without a mirror.
   */
  mirrorOutcome?(record: BucketRecord): MirrorOutcome | undefined;
}
