import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  BucketExistsError,
  type BucketMisconfiguredError,
  BucketRecordShapeError,
  InvalidRequestError,
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
import type { BucketPage, BucketRegistry, ListOptions } from './bucket-registry';

/** The records of the file by name, and those that break the schema (kept as written). */
interface Snapshot {
  byName: Map<string, BucketRecord>;
  broken: Map<string, BucketMisconfiguredError>;
  unreadable: unknown[];
}

/**
 * The registry as one JSON file (`{ "records": [...] }`), for the local runner and small
 * single-host setups. Re-read when the file changes, so an edit by hand or by another process is
 * seen; writes go through a temporary file and a rename. One writer process at a time.
 */
export class FileBucketRegistry implements BucketRegistry {
  private snapshot: (Snapshot & { mtimeMs: number }) | undefined;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async getByName(bucketName: string): Promise<BucketRecord | undefined> {
    const { byName, broken } = await this.read();
    // A malformed record fails its own bucket only.
    const failure = broken.get(bucketName);
    if (failure !== undefined) throw failure;
    return byName.get(bucketName);
  }

  async getById(id: string): Promise<BucketRecord | undefined> {
    for (const record of (await this.load()).values()) if (record.id === id) return record;
    return undefined;
  }

  async list(options: ListOptions = {}): Promise<BucketPage> {
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new InvalidRequestError('limit must be an integer from 1 to 1000', 'limit');
    }
    const after =
      options.cursor === undefined ? undefined : Buffer.from(options.cursor, 'base64url').toString('utf8');
    const names = [...(await this.load()).keys()].sort();
    const start = after === undefined ? 0 : names.findIndex((name) => name > after);
    const page = start < 0 ? [] : names.slice(start, start + limit);
    const records = await Promise.all(page.map(async (name) => (await this.getByName(name)) as BucketRecord));
    const last = page.at(-1);
    const more = last !== undefined && names.indexOf(last) < names.length - 1;
    const answer: BucketPage = more
      ? { records, cursor: Buffer.from(last).toString('base64url') }
      : { records };
    // Malformed records are not in the listing's order; the first page reports them all.
    if (options.tolerateMalformed === true) {
      answer.malformed =
        options.cursor === undefined
          ? [...(await this.read()).broken.values()].filter(
              (error): error is BucketRecordShapeError => error instanceof BucketRecordShapeError,
            )
          : [];
    }
    return answer;
  }

  create(registration: BucketRegistration): Promise<BucketRecord> {
    return this.write(async (records) => {
      const record = newBucketRecord(registration, this.clock());
      if (records.has(record.bucket_name)) throw new BucketExistsError(record.bucket_name);
      records.set(record.bucket_name, record);
      return record;
    });
  }

  update(id: string, expectedRevision: number, changes: BucketChanges): Promise<BucketRecord> {
    return this.write(async (records) => {
      const current = [...records.values()].find((record) => record.id === id);
      if (current === undefined) throw new UnknownBucketError(id);
      if (current.revision !== expectedRevision) {
        throw new RevisionConflictError(
          `bucket ${id} is at revision ${current.revision}, not ${expectedRevision}`,
        );
      }
      const next = applyBucketChanges(current, parseRequest(BucketChangesSchema, changes), this.clock());
      records.set(next.bucket_name, next);
      return next;
    });
  }

  private async load(): Promise<Map<string, BucketRecord>> {
    return (await this.read()).byName;
  }

  private async read(): Promise<Snapshot> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(this.file)).mtimeMs;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { byName: new Map(), broken: new Map(), unreadable: [] };
      }
      throw error;
    }
    if (this.snapshot?.mtimeMs === mtimeMs) return this.snapshot;
    const document = JSON.parse(await readFile(this.file, 'utf8')) as { records?: unknown[] };
    const byName = new Map<string, BucketRecord>();
    const broken = new Map<string, BucketMisconfiguredError>();
    const unreadable: unknown[] = [];
    for (const raw of document.records ?? []) {
      try {
        const record = readStoredRecord(raw);
        byName.set(record.bucket_name, record);
      } catch (error) {
        unreadable.push(raw);
        const name = (raw as { bucket_name?: unknown } | null)?.bucket_name;
        if (typeof name === 'string') broken.set(name, error as BucketMisconfiguredError);
      }
    }
    this.snapshot = { mtimeMs, byName, broken, unreadable };
    return this.snapshot;
  }

  /** Serializes writers in this process; each write rewrites the whole file atomically. */
  private write<T>(change: (records: Map<string, BucketRecord>) => Promise<T>): Promise<T> {
    const run = this.writes.then(async () => {
      const { byName, broken, unreadable } = await this.read();
      const records = new Map(byName);
      const result = await change(records);
      for (const name of broken.keys()) if (records.has(name)) throw new BucketExistsError(name);
      await mkdir(dirname(this.file), { recursive: true });
      const temporary = `${this.file}.${process.pid}.tmp`;
      // Records this release cannot read are written back untouched, for an operator to fix.
      const document = { records: [...records.values(), ...unreadable] };
      await writeFile(temporary, `${JSON.stringify(document, null, 2)}\n`);
      await rename(temporary, this.file);
      this.snapshot = undefined;
      return result;
    });
    this.writes = run.catch(() => undefined);
    return run;
  }
}
