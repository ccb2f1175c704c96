import { BrokerError } from '../errors';
import type { BucketRecord } from './bucket-record';
import type { StoredEntry } from './bucket-registry';
import type {
  MirrorBatchFailure,
  MirrorEntry,
  MirrorPutOutcome,
  MirrorWriteGuard,
} from './dynamodb-registry-mirror';
import {
  DEFAULT_RECORD_POLICY,
  type RecordPolicy,
  type RecordPolicyViolation,
  recordPolicyViolations,
  SECRET_RULES,
} from './record-policy';

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
  /**
   * Why an update is needed: the source is newer, or the mirror's item differs at the same
   * version. Why a delete: the source dropped the record, or (`policy`) its row breaks a secret
   * rule of the record policy.
   */
  reason?: 'newer' | 'differs' | 'policy';
}

/**
 * A record the sync could not bring in line. The mirror's item is left as it was, except under
 * `policy` when the row breaks a secret rule: then the item is removed (see `syncRegistry`).
 */
export interface SyncFailure {
  bucket_name: string;
  /**
   * `read`: the source record breaks the schema (it is neither copied nor deleted); `policy`: it
   * breaks the record policy (`registry/record-policy.ts`), so it is not copied.
   */
  action: SyncAction | 'read' | 'policy';
  /**
   * Stable: an error code of `errors.ts`, a rule of `RECORD_POLICY_RULES` (`policy`), or
   * `delete_cap_exceeded` (a delete held back by the delete cap).
   */
  code: string;
  /** The record's field at fault, when one is. */
  field?: string;
  /** What went wrong; never a value of the record. */
  error: string;
}

/** The code of a delete the delete cap held back. */
export const DELETE_CAP_EXCEEDED = 'delete_cap_exceeded';

/**
 * How much of the mirror one run may delete. Deleting a mirror item takes a bucket offline at
 * once, and Fence DB loses rows one bucket at a time when people delete them; a run that would
 * delete many at once is far more likely a broken source (an emptied or restored table, a wrong
 * database) than intent. Past the cap, the run deletes nothing and reports every delete it held
 * back; an operator who means it runs `fence-buckets sync --max-delete-fraction 1` once.
 */
export interface DeleteCap {
  /** The share of the mirror (0–1) one run may delete. @default 0.1 */
  fraction: number;
  /** Deletes always allowed, however small the mirror (a 3-bucket registry can drop one). @default 1 */
  floor: number;
}

export const DEFAULT_DELETE_CAP: DeleteCap = Object.freeze({ fraction: 0.1, floor: 1 });

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
  /** The record rules every row must hold to be mirrored. @default DEFAULT_RECORD_POLICY */
  policy?: RecordPolicy;
  /** @default DEFAULT_DELETE_CAP */
  deleteCap?: DeleteCap;
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
 *
 * Fence DB is not trusted as an admin: every row must hold the record policy the admin core
 * holds its writes to (`recordPolicyViolations`), else it is reported (`action: 'policy'`) and
 * not copied. When the row breaks a secret rule (a secret outside the prefix or under its admin
 * sub-path), the mirror's item of that bucket is removed as well, whatever its version: the
 * registry of record now says the bucket reads a secret the broker must not use, and serving
 * the older item would keep a bucket alive on a state its owner no longer states. Removing is
 * the fail-closed choice (the bucket stops until an admin fixes the row); presign refuses such
 * an item on its own too, should it survive (a removal held back by the delete cap). A row above
 * the `max_expires_in` cap leaves the item alone: presign clamps every URL to the cap anyway.
 *
 * Deletes are capped (`DeleteCap`), and a source with no rows at all deletes nothing from a
 * mirror that has items unless the cap allows the whole mirror.
 */
export async function syncRegistry(
  source: SyncSource,
  mirror: SyncMirror,
  options: SyncOptions = {},
): Promise<SyncReport> {
  const verifyContent = options.verifyContent === true;
  const policy = options.policy ?? DEFAULT_RECORD_POLICY;
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
          ...described(entry.error),
        });
        continue;
      }
      const record = entry.record;
      const current = mirrored.get(record.bucket_name);
      const violations = recordPolicyViolations(record, policy);
      if (violations.length > 0) {
        const remove =
          current !== undefined && violations.some((violation) => SECRET_RULES.has(violation.rule));
        report.failures.push(policyFailure(record.bucket_name, violations, remove));
        if (remove) {
          const change: SyncChange = {
            action: 'delete',
            bucket_name: record.bucket_name,
            mirror_revision: current.revision,
            reason: 'policy',
          };
          planned.push({ change, kind: 'delete', entry: current });
        }
        continue;
      }
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

  holdBackDeletes(planned, mirrored.size, seen.size, options.deleteCap ?? DEFAULT_DELETE_CAP, report);
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
        policy,
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
          ...described(error),
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
  policy: RecordPolicy,
): Promise<void> {
  const lock = source.withRecordsLocked?.bind(source);
  const putBatch = mirror.putBatch?.bind(mirror);
  if (lock === undefined || putBatch === undefined) return;
  const settled = new Set<string>();
  const fail = (write: { change: SyncChange }, failure: Omit<SyncFailure, 'bucket_name'>) => {
    settled.add(write.change.bucket_name);
    report.failures.push({ bucket_name: write.change.bucket_name, ...failure });
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
            fail(write, { action: 'read', ...described(entry.error) });
          } else if (recordPolicyViolations(entry.record, policy).length > 0) {
            // Changed since it was read, into a row that breaks the rules: not written; the next
            // run reports it and removes the item if a secret rule is broken.
            const { bucket_name: _name, ...failure } = policyFailure(
              write.change.bucket_name,
              recordPolicyViolations(entry.record, policy),
              false,
            );
            fail(write, failure);
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
            fail(write, { action: write.change.action, ...described(error) });
          }
        }
      },
    );
  } catch (error) {
    // The source could not lock or read the chunk (or the write ran into an error): what was not
    // written is reported.
    for (const write of chunk) {
      if (!settled.has(write.change.bucket_name))
        fail(write, { action: write.change.action, ...described(error) });
    }
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

/** An error as a failure's code and message (its code also first in the message, as before). */
function described(error: unknown): { code: string; error: string } {
  if (error instanceof BrokerError) return { code: error.code, error: `${error.code}: ${error.message}` };
  return {
    code: 'internal_error',
    error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error',
  };
}

/**
 * A row that breaks the record policy, reported by rule and field only: the rule's message
 * would name the row's secret, and a Fence DB row is not the broker's to repeat.
 */
function policyFailure(
  bucketName: string,
  violations: readonly RecordPolicyViolation[],
  removed: boolean,
): SyncFailure {
  const [first] = violations as [RecordPolicyViolation, ...RecordPolicyViolation[]];
  const rules = violations.map((violation) => `${violation.rule} (${violation.field})`).join(', ');
  return {
    bucket_name: bucketName,
    action: 'policy',
    code: first.rule,
    field: first.field,
    error: `the Fence DB row breaks the record policy: ${rules}; not mirrored${removed ? ', and the mirror item is removed' : ''}`,
  };
}

/**
 * Applies the delete cap to the planned writes: past it, every delete is taken out of the plan
 * and reported as a failure `delete_cap_exceeded`, and nothing is deleted. A source with no
 * rows at all is treated as broken unless the cap allows the whole mirror.
 */
function holdBackDeletes(
  planned: PlannedWrite[],
  mirrorSize: number,
  sourceSize: number,
  cap: DeleteCap,
  report: SyncReport,
): void {
  const deletes = planned.filter((write) => write.kind === 'delete');
  if (deletes.length === 0) return;
  const allowed = Math.max(cap.floor, Math.floor(cap.fraction * mirrorSize));
  const emptied = sourceSize === 0 && cap.fraction < 1;
  if (deletes.length <= allowed && !emptied) return;
  const why = emptied
    ? 'Fence DB returned no rows at all while the mirror has items'
    : `${deletes.length} deletes exceed the cap of ${allowed} (${cap.fraction} of ${mirrorSize} items, at least ${cap.floor})`;
  for (const write of deletes) {
    planned.splice(planned.indexOf(write), 1);
    report.failures.push({
      bucket_name: write.change.bucket_name,
      action: 'delete',
      code: DELETE_CAP_EXCEEDED,
      error: `${DELETE_CAP_EXCEEDED}: ${why}; no item was deleted (fence-buckets sync --dry-run shows them, --max-delete-fraction 1 deletes them)`,
    });
  }
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
