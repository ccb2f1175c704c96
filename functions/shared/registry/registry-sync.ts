import { BrokerError } from '../errors';
import type { BucketRecord } from './bucket-record';
import type { StoredEntry } from './bucket-registry';
import type {
  MirrorBatchFailure,
  MirrorEntry,
  MirrorPutOutcome,
  MirrorWriteGuard,
} from './dynamodb-registry-mirror';

/** The registry of record, read in batches (Fence DB: `PostgresBucketRegistry`). */
export interface SyncSource {
  entries(batchSize?: number): AsyncIterable<StoredEntry[]>;
  /**
   * Runs `work` on the current records of `names`, which no one can change or delete until
   * `work` returns (names deleted since are missing). A source that offers it lets the sync
   * write in unconditional batches (see `syncRegistry`).
   */
  withRecordsLocked?<T>(names: readonly string[], work: (entries: StoredEntry[]) => Promise<T>): Promise<T>;
}

/** The mirror the presign path reads (DynamoDB: `DynamoDbRegistryMirror`). */
export interface SyncMirror {
  scan(options?: { whole?: boolean }): AsyncIterable<MirrorEntry[]>;
  /** A conditional write (see `MirrorWriteGuard`). */
  put(record: BucketRecord, guard?: MirrorWriteGuard): Promise<MirrorPutOutcome>;
  /** A conditional delete of exactly the version scanned. */
  remove(entry: Pick<MirrorEntry, 'bucket_name' | 'created_at' | 'revision'>): Promise<'deleted' | 'skipped'>;
  /** Unconditional writes, many to a request; returns the records it could not write. */
  putBatch?(
    records: readonly BucketRecord[],
    options: { concurrency: number },
  ): Promise<MirrorBatchFailure[]>;
}

export type SyncAction = 'insert' | 'update' | 'delete';

/** One difference between source and mirror, and what the sync does (or, dry, would do) about it. */
export interface SyncChange {
  action: SyncAction;
  bucket_name: string;
  /** The source's revision (absent for deletes). */
  source_revision?: number;
  /** The mirror's revision as stored (absent for inserts). */
  mirror_revision?: unknown;
  /** Why an update is needed: the source is newer, or the mirror's item differs at the same version. */
  reason?: 'newer' | 'differs';
}

/** A record the sync could not bring in line; the mirror's item is left as it was. */
export interface SyncFailure {
  bucket_name: string;
  /** `read`: the source record breaks the schema (it is neither copied nor deleted). */
  action: SyncAction | 'read';
  /** `code: message` of the error; never a value of the record. */
  error: string;
}

export interface SyncReport {
  dry_run: boolean;
  /** Records written to the mirror that it did not have (dry: would write). */
  inserted: number;
  /** Records written over an older or differing item (dry: would write). */
  updated: number;
  /** Items removed because the source no longer has them (dry: would remove). */
  deleted: number;
  unchanged: number;
  /**
   * Left alone because the mirror holds a newer version: found so when comparing, or when the
   * conditional write lost to a concurrent writer (another sync, a write-through).
   */
  skipped: number;
  failed: number;
  /** Every difference found, in bucket-name order. */
  changes: SyncChange[];
  failures: SyncFailure[];
}

export interface SyncOptions {
  /** Compute and report the diff; write nothing. @default false */
  dryRun?: boolean;
  /** Mirror writes in flight at once. @default 16 */
  concurrency?: number;
  /** Source records per read. @default 1000 */
  batchSize?: number;
  /**
   * Also read every mirror item whole and rewrite those that differ from the source at the same
   * version (an item edited by hand in DynamoDB, or one that no longer parses). Without it the
   * sync compares versions only, which is all a mirror written only by the broker needs, and
   * reads far less. @default false
   */
  verifyContent?: boolean;
  /**
   * `batched` (the default where source and mirror support it): records to insert or update are
   * written 25 to a request while the source holds them locked; `conditional`: one conditional
   * put per record. Deletes are always conditional.
   */
  writes?: 'batched' | 'conditional';
  /** Told how many writes the sync is about to make (before the first). */
  onPlan?: (changes: number) => void;
  /** Told after each write, whatever its outcome. */
  onProgress?: () => void;
}

export const DEFAULT_SYNC_CONCURRENCY = 16;

/** Records written per locked batch: the longest an admin write to one of them may wait. */
const LOCKED_CHUNK = 500;

/** One planned write: an insert or update of `record`, or the delete of a scanned item. */
type PlannedWrite =
  | { change: SyncChange; kind: 'put'; record: BucketRecord; guard: MirrorWriteGuard }
  | { change: SyncChange; kind: 'delete'; entry: MirrorEntry };

/**
 * Mirrors the registry of record into the mirror (DESIGN.md "Registry of record"): inserts what
 * the mirror lacks, updates what is older there, deletes what the source dropped, and leaves
 * alone what is newer there. Versions are compared by `(created_at, revision)` (see
 * `DynamoDbRegistryMirror`); with `verifyContent`, items that differ at the same version are
 * rewritten too.
 *
 * No write ever puts back an older version, whoever else writes at the same time (another sync,
 * a write-through of an admin change):
 * - the mirror is scanned before the source is read. A write-through reaches the mirror only
 *   after its source write committed, so an item the scan saw is, at the later source read,
 *   either still in the source or truly gone: nothing is deleted for having been written during
 *   the sync. Deletes are conditional on exactly the version scanned;
 * - inserts and updates are either conditional puts (`writes: 'conditional'`: only over an
 *   older version), or, by default, unconditional batches written while the source holds the
 *   batch's records locked and re-read: no newer version of them can exist until the batch is
 *   written, so the batch writes the newest there is. A write-through of one of them waits for
 *   the batch, then lands on top.
 *
 * A record that fails is reported and does not stop the others.
 */
export async function syncRegistry(
  source: SyncSource,
  mirror: SyncMirror,
  options: SyncOptions = {},
): Promise<SyncReport> {
  const verifyContent = options.verifyContent === true;
  const mirrored = new Map<string, MirrorEntry>();
  for await (const page of mirror.scan({ whole: verifyContent })) {
    for (const entry of page) mirrored.set(entry.bucket_name, entry);
  }

  const report: SyncReport = {
    dry_run: options.dryRun === true,
    inserted: 0,
    updated: 0,
    deleted: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    changes: [],
    failures: [],
  };
  const planned: PlannedWrite[] = [];
  const seen = new Set<string>();
  for await (const batch of source.entries(options.batchSize ?? 1000)) {
    for (const entry of batch) {
      seen.add(entry.bucket_name);
      if (entry.record === undefined) {
        report.failures.push({
          bucket_name: entry.bucket_name,
          action: 'read',
          error: describe(entry.error),
        });
        continue;
      }
      const record = entry.record;
      const current = mirrored.get(record.bucket_name);
      if (current === undefined) {
        const change: SyncChange = {
          action: 'insert',
          bucket_name: record.bucket_name,
          source_revision: record.revision,
        };
        planned.push({ change, kind: 'put', record, guard: 'older' });
        continue;
      }
      const order = compareVersions(record, current);
      if (order === 'older') {
        report.skipped++;
        continue;
      }
      if (
        order === 'same' &&
        (!verifyContent || (current.record !== undefined && sameContent(record, current.record)))
      ) {
        report.unchanged++;
        continue;
      }
      const change: SyncChange = {
        action: 'update',
        bucket_name: record.bucket_name,
        source_revision: record.revision,
        mirror_revision: current.revision,
        reason: order === 'newer' ? 'newer' : 'differs',
      };
      // Same version but another content, or a version that cannot be read: replace exactly the
      // item that was scanned, so a newer write that lands meanwhile still wins.
      const guard: MirrorWriteGuard =
        order === 'newer' ? 'older' : { created_at: current.created_at, revision: current.revision };
      planned.push({ change, kind: 'put', record, guard });
    }
  }
  for (const entry of mirrored.values()) {
    if (seen.has(entry.bucket_name)) continue;
    const change: SyncChange = {
      action: 'delete',
      bucket_name: entry.bucket_name,
      mirror_revision: entry.revision,
    };
    planned.push({ change, kind: 'delete', entry });
  }

  planned.sort((a, b) => (a.change.bucket_name < b.change.bucket_name ? -1 : 1));
  report.changes = planned.map((write) => write.change);
  if (options.dryRun) {
    for (const { change } of planned) count(report, change.action);
  } else {
    options.onPlan?.(planned.length);
    const concurrency = options.concurrency ?? DEFAULT_SYNC_CONCURRENCY;
    const batched = options.writes !== 'conditional' && source.withRecordsLocked && mirror.putBatch;
    const inBatches = batched
      ? planned.filter(
          (write): write is Extract<PlannedWrite, { kind: 'put' }> =>
            write.kind === 'put' && write.guard === 'older',
        )
      : [];
    const oneByOne = batched ? planned.filter((write) => !inBatches.includes(write as never)) : planned;
    for (let start = 0; start < inBatches.length; start += LOCKED_CHUNK) {
      await writeLockedChunk(
        source,
        mirror,
        inBatches.slice(start, start + LOCKED_CHUNK),
        concurrency,
        report,
        options,
      );
    }
    await inParallel(oneByOne, concurrency, async (write) => {
      try {
        const done =
          write.kind === 'put'
            ? (await mirror.put(write.record, write.guard)) === 'written'
            : (await mirror.remove(write.entry)) === 'deleted';
        if (done) count(report, write.change.action);
        else report.skipped++;
      } catch (error) {
        report.failures.push({
          bucket_name: write.change.bucket_name,
          action: write.change.action,
          error: describe(error),
        });
      } finally {
        options.onProgress?.();
      }
    });
  }
  report.failures.sort((a, b) => (a.bucket_name < b.bucket_name ? -1 : 1));
  report.failed = report.failures.length;
  return report;
}

/**
 * Writes a chunk of inserts and updates in unconditional batches while the source holds their
 * records locked, writing each record as it is now (re-read under the lock): a record deleted
 * since is left for the next sync, a newer version is written instead of the planned one.
 */
async function writeLockedChunk(
  source: SyncSource,
  mirror: SyncMirror,
  chunk: readonly Extract<PlannedWrite, { kind: 'put' }>[],
  concurrency: number,
  report: SyncReport,
  options: SyncOptions,
): Promise<void> {
  const lock = source.withRecordsLocked?.bind(source);
  const putBatch = mirror.putBatch?.bind(mirror);
  if (lock === undefined || putBatch === undefined) return;
  const settled = new Set<string>();
  const fail = (
    write: { change: SyncChange },
    error: string,
    action: SyncFailure['action'] = write.change.action,
  ) => {
    settled.add(write.change.bucket_name);
    report.failures.push({ bucket_name: write.change.bucket_name, action, error });
  };
  try {
    await lock(
      chunk.map((write) => write.change.bucket_name),
      async (entries) => {
        const now = new Map(entries.map((entry) => [entry.bucket_name, entry]));
        const records: BucketRecord[] = [];
        const writes: (typeof chunk)[number][] = [];
        for (const write of chunk) {
          const entry = now.get(write.change.bucket_name);
          if (entry === undefined) {
            settled.add(write.change.bucket_name);
            report.skipped++;
          } else if (entry.record === undefined) {
            fail(write, describe(entry.error), 'read');
          } else {
            records.push(entry.record);
            writes.push(write);
          }
        }
        const failures = new Map(
          (await putBatch(records, { concurrency })).map((failure) => [failure.bucket_name, failure.error]),
        );
        for (const write of writes) {
          const error = failures.get(write.change.bucket_name);
          if (error === undefined) {
            settled.add(write.change.bucket_name);
            count(report, write.change.action);
          } else {
            fail(write, describe(error));
          }
        }
      },
    );
  } catch (error) {
    // The source could not lock or read the chunk (or the write ran into an error): what was not
    // written is reported.
    for (const write of chunk) if (!settled.has(write.change.bucket_name)) fail(write, describe(error));
  } finally {
    for (let index = 0; index < chunk.length; index++) options.onProgress?.();
  }
}

/**
 * How the source's version of a record stands to the mirror's: by `created_at` (a bucket
 * registered again is newer than its deleted predecessor), then by `revision`. A mirror item
 * whose version attributes are not a timestamp and a number is `unreadable`.
 */
function compareVersions(
  record: BucketRecord,
  mirror: MirrorEntry,
): 'newer' | 'same' | 'older' | 'unreadable' {
  if (typeof mirror.created_at !== 'string' || typeof mirror.revision !== 'number') return 'unreadable';
  if (record.created_at !== mirror.created_at)
    return record.created_at > mirror.created_at ? 'newer' : 'older';
  if (record.revision !== mirror.revision) return record.revision > mirror.revision ? 'newer' : 'older';
  return 'same';
}

function sameContent(a: BucketRecord, b: BucketRecord): boolean {
  return canonical(a) === canonical(b);
}

function canonical(record: BucketRecord): string {
  return JSON.stringify(
    Object.keys(record)
      .sort()
      .map((key) => [key, record[key as keyof BucketRecord]]),
  );
}

function count(report: SyncReport, action: SyncAction): void {
  if (action === 'insert') report.inserted++;
  else if (action === 'update') report.updated++;
  else report.deleted++;
}

function describe(error: unknown): string {
  if (error instanceof BrokerError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
}

/** Runs `work` over `items` with at most `limit` at once. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
