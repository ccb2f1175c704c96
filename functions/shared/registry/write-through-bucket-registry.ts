import type { BucketChanges, BucketRecord, BucketRegistration } from './bucket-record';
import type { BucketPage, BucketRegistry, ListOptions, MirrorOutcome } from './bucket-registry';

/** Where written records are copied: a conditional write that never replaces a newer version. */
export interface RegistryMirror {
  put(record: BucketRecord): Promise<'written' | 'skipped'>;
}

export interface WriteThroughOptions {
  /**
   * Told of every mirror write that failed (the record is saved in the source; the sync heals
   * the mirror). Never given a secret: records hold none. @default ignore
   */
  onMirrorFailure?: (record: BucketRecord, error: unknown) => void;
}

/**
 * The registry of record with a mirror (DESIGN.md "Registry of record"): reads and writes go to
 * `source` (Fence DB); each record a write returns is then written, as it is, to `mirror` (the
 * DynamoDB table the presign path reads) at once. A mirror write that fails does not fail the
 * admin call: the record is saved where it counts, the failure is reported, and the next sync
 * copies it. A mirror write that finds a newer version there (a sync or another write got there
 * first) leaves it alone.
 */
export class WriteThroughBucketRegistry implements BucketRegistry {
  private readonly outcomes = new WeakMap<BucketRecord, MirrorOutcome>();

  constructor(
    readonly source: BucketRegistry,
    readonly mirror: RegistryMirror,
    private readonly options: WriteThroughOptions = {},
  ) {}

  getByName(bucketName: string, options?: { deadline?: number }): Promise<BucketRecord | undefined> {
    return this.source.getByName(bucketName, options);
  }

  getById(id: string): Promise<BucketRecord | undefined> {
    return this.source.getById(id);
  }

  list(options?: ListOptions): Promise<BucketPage> {
    return this.source.list(options);
  }

  async create(registration: BucketRegistration): Promise<BucketRecord> {
    return this.writeThrough(await this.source.create(registration));
  }

  async update(id: string, expectedRevision: number, changes: BucketChanges): Promise<BucketRecord> {
    return this.writeThrough(await this.source.update(id, expectedRevision, changes));
  }

  mirrorOutcome(record: BucketRecord): MirrorOutcome | undefined {
    return this.outcomes.get(record);
  }

  private async writeThrough(record: BucketRecord): Promise<BucketRecord> {
    try {
      await this.mirror.put(record);
      this.outcomes.set(record, 'mirrored');
    } catch (error) {
      this.outcomes.set(record, 'mirror_failed');
      this.options.onMirrorFailure?.(record, error);
    }
    return record;
  }
}
