import { BoundedLru } from '../cache/bounded-lru';
import type { BucketRecord } from './bucket-record';
import type { BucketRegistry } from './bucket-registry';

export interface BucketLookupOptions {
  /** How long a record (or its absence) is trusted; a suspension takes effect within it. @default 10_000 */
  ttlMs?: number;
  /** @default 10_000 */
  maxEntries?: number;
  /** @default Date.now */
  clock?: () => number;
}

/**
 * The presign hot path's view of the registry: records by bucket name, cached briefly, with
 * concurrent misses for one name sharing one read.
 */
export class CachedBucketLookup {
  private readonly entries: BoundedLru<string, { record: BucketRecord | undefined; until: number }>;
  private readonly inFlight = new Map<string, Promise<BucketRecord | undefined>>();
  private readonly ttlMs: number;
  private readonly clock: () => number;
  readonly counters = { hits: 0, misses: 0 };

  constructor(
    private readonly registry: Pick<BucketRegistry, 'getByName'>,
    options: BucketLookupOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.clock = options.clock ?? Date.now;
    this.entries = new BoundedLru(options.maxEntries ?? 10_000);
  }

  /** The record for `bucketName`; a miss reads the registry by `deadline` (epoch ms), if given. */
  getByName(bucketName: string, deadline?: number): Promise<BucketRecord | undefined> {
    const entry = this.entries.get(bucketName);
    if (entry !== undefined && this.clock() < entry.until) {
      this.counters.hits++;
      return Promise.resolve(entry.record);
    }
    this.counters.misses++;
    const pending = this.inFlight.get(bucketName);
    if (pending !== undefined) return pending;
    const load = this.registry
      .getByName(bucketName, deadline === undefined ? undefined : { deadline })
      .then((record) => {
        this.entries.set(bucketName, { record, until: this.clock() + this.ttlMs });
        return record;
      })
      .finally(() => this.inFlight.delete(bucketName));
    this.inFlight.set(bucketName, load);
    return load;
  }
}
