import type { StoredEntry } from '../../../functions/shared/registry/bucket-registry';
import { FENCE_DB_REGISTRY_TABLE } from '../../../functions/shared/registry/postgres-bucket-registry';
import { type SyncSource, syncRegistry } from '../../../functions/shared/registry/registry-sync';
import { WriteThroughBucketRegistry } from '../../../functions/shared/registry/write-through-bucket-registry';
import { roleRegistration } from '../../fixtures/bucket-records';
import { cli } from '../support/cli';
import { insertRows, mirrorItems, type SyncBed, sourceRecords, syncBed } from '../support/registry-sync-bed';

/** A source that hands out a snapshot taken earlier: a sync whose read is late. */
function snapshotSource(entries: StoredEntry[]): SyncSource {
  return {
    async *entries() {
      yield entries;
    },
  };
}

/** Returns once some session of Fence DB waits for a row lock (the admin write blocked by the sync). */
async function waitForLockWait(bed: SyncBed): Promise<void> {
  for (;;) {
    const { rows } = await bed.db.pool.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if (rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function snapshot(bed: SyncBed): Promise<StoredEntry[]> {
  const entries: StoredEntry[] = [];
  for await (const batch of bed.source.entries()) entries.push(...batch);
  return entries;
}

describe('Function: syncRegistry (PostgreSQL → DynamoDB on moto)', () => {
  let bed: SyncBed;

  beforeEach(async () => {
    bed = await syncBed();
  }, 60_000);

  afterEach(async () => {
    await bed.dispose();
  }, 60_000);

  it('mirrors 10,000 rows, and a second run writes nothing', async () => {
    // Prepare
    await insertRows(bed.db, 10_000);

    // Act
    const first = await syncRegistry(bed.source, bed.mirror);
    const writesOfFirst = bed.writes();
    const second = await syncRegistry(bed.source, bed.mirror);

    // Assess
    expect(first).toMatchObject({ inserted: 10_000, updated: 0, deleted: 0, unchanged: 0, failed: 0 });
    expect(writesOfFirst).toBe(400); // BatchWriteItem, 25 records a request
    expect(second).toMatchObject({ inserted: 0, updated: 0, deleted: 0, unchanged: 10_000, failed: 0 });
    expect(second.changes).toEqual([]);
    expect(bed.writes()).toBe(writesOfFirst);
    const [items, records] = await Promise.all([mirrorItems(bed.tableName), sourceRecords(bed.source)]);
    expect(items.size).toBe(10_000);
    for (const name of ['bucket-00001', 'bucket-05000', 'bucket-10000']) {
      expect(items.get(name)).toEqual(records.get(name));
    }
  }, 600_000);

  it('carries an update, a delete and an insert made in PostgreSQL over at the next sync', async () => {
    // Prepare
    await insertRows(bed.db, 5);
    await syncRegistry(bed.source, bed.mirror);
    await bed.db.pool.query(
      `UPDATE ${FENCE_DB_REGISTRY_TABLE} SET status = 'suspended' WHERE bucket_name = 'bucket-00002'`,
    );
    await bed.db.pool.query(`DELETE FROM ${FENCE_DB_REGISTRY_TABLE} WHERE bucket_name = 'bucket-00004'`);
    await bed.source.create(roleRegistration({ bucket_name: 'bucket-new' }));

    // Act
    const report = await syncRegistry(bed.source, bed.mirror);

    // Assess
    expect(report).toMatchObject({
      inserted: 1,
      updated: 1,
      deleted: 1,
      unchanged: 3,
      skipped: 0,
      failed: 0,
    });
    expect(report.changes).toEqual([
      {
        action: 'update',
        bucket_name: 'bucket-00002',
        source_revision: 2,
        mirror_revision: 1,
        reason: 'newer',
      },
      { action: 'delete', bucket_name: 'bucket-00004', mirror_revision: 1 },
      { action: 'insert', bucket_name: 'bucket-new', source_revision: 1 },
    ]);
    const items = await mirrorItems(bed.tableName);
    expect(items.get('bucket-00002')).toMatchObject({ status: 'suspended', revision: 2 });
    expect(items.has('bucket-00004')).toBe(false);
    expect(items.get('bucket-new')).toEqual(await bed.source.getByName('bucket-new'));
  }, 120_000);

  it('computes the diff on a dry run and writes nothing', async () => {
    // Prepare: the mirror holds one current, one stale and one dropped record
    await insertRows(bed.db, 3);
    await syncRegistry(bed.source, bed.mirror);
    await bed.db.pool.query(
      `UPDATE ${FENCE_DB_REGISTRY_TABLE} SET region = 'eu-west-1' WHERE bucket_name = 'bucket-00001'`,
    );
    await bed.db.pool.query(`DELETE FROM ${FENCE_DB_REGISTRY_TABLE} WHERE bucket_name = 'bucket-00002'`);
    await insertRows(bed.db, 1, 'added');
    const before = await mirrorItems(bed.tableName);
    const writesBefore = bed.writes();

    // Act
    const report = await syncRegistry(bed.source, bed.mirror, { dryRun: true });

    // Assess
    expect(report).toMatchObject({ dry_run: true, inserted: 1, updated: 1, deleted: 1, unchanged: 1 });
    expect(report.changes.map((change) => [change.action, change.bucket_name])).toEqual([
      ['insert', 'added-00001'],
      ['update', 'bucket-00001'],
      ['delete', 'bucket-00002'],
    ]);
    expect(bed.writes()).toBe(writesBefore);
    expect(await mirrorItems(bed.tableName)).toEqual(before);
  }, 120_000);

  it.each(['batched', 'conditional'] as const)(
    'never leaves an older revision when two syncs (%s writes) and write-throughs run at once',
    async (writes) => {
      // Prepare: 300 buckets, and a write-through registry that updates 30 of them 3 times each
      await insertRows(bed.db, 300);
      const registry = new WriteThroughBucketRegistry(bed.source, bed.mirror);
      const targets = [...(await sourceRecords(bed.source)).values()].filter((_, index) => index % 10 === 0);
      const updates = async () => {
        for (let round = 0; round < 3; round++) {
          await Promise.all(
            targets.map(async (record) => {
              const current = await registry.getById(record.id);
              await registry.update(record.id, current?.revision ?? 0, {
                max_expires_in: 100 + round,
              });
            }),
          );
        }
      };

      // Act
      const [first, second] = await Promise.all([
        syncRegistry(bed.source, bed.mirror, { concurrency: 8, writes }),
        syncRegistry(bed.source, bed.mirror, { concurrency: 8, writes }),
        updates(),
      ]);

      // Assess: the mirror holds exactly Fence DB's latest version of every record
      expect(first.failed + second.failed).toBe(0);
      const [items, records] = await Promise.all([mirrorItems(bed.tableName), sourceRecords(bed.source)]);
      expect(items.size).toBe(300);
      const behind = [...records.values()].filter(
        (record) => items.get(record.bucket_name)?.revision !== record.revision,
      );
      expect(behind.map((record) => record.bucket_name)).toEqual([]);
      for (const record of targets) {
        expect(items.get(record.bucket_name)).toEqual(records.get(record.bucket_name));
        expect(records.get(record.bucket_name)?.revision).toBe(4);
      }
    },
    300_000,
  );

  it('lets a sync that read Fence DB before a write-through write nothing older over it', async () => {
    // Prepare: a stale read, then two updates written through
    await insertRows(bed.db, 4);
    await syncRegistry(bed.source, bed.mirror);
    const stale = await snapshot(bed);
    const registry = new WriteThroughBucketRegistry(bed.source, bed.mirror);
    const target = (await bed.source.getByName('bucket-00003'))!;
    const updated = await registry.update(target.id, 1, { status: 'suspended' });
    await registry.update(updated.id, 2, { allowed_ops: ['download', 'list'] });

    // Act: the late sync
    const late = await syncRegistry(snapshotSource(stale), bed.mirror);

    // Assess
    expect(late).toMatchObject({ inserted: 0, updated: 0, deleted: 0, skipped: 1, unchanged: 3 });
    expect((await mirrorItems(bed.tableName)).get('bucket-00003')).toMatchObject({
      revision: 3,
      status: 'suspended',
      allowed_ops: ['download', 'list'],
    });
  }, 120_000);

  it('writes, in a batch, the newest version there is (re-read under the lock), not the one it planned with', async () => {
    // Prepare: the plan sees revision 2; by the time the batch is written Fence DB holds 3
    await insertRows(bed.db, 1);
    await syncRegistry(bed.source, bed.mirror);
    await bed.db.pool.query(`UPDATE ${FENCE_DB_REGISTRY_TABLE} SET status = 'suspended'`);
    const planned = await snapshot(bed);
    await bed.db.pool.query(`UPDATE ${FENCE_DB_REGISTRY_TABLE} SET region = 'eu-west-1'`);
    const source: SyncSource = {
      ...snapshotSource(planned),
      withRecordsLocked: (names, work) => bed.source.withRecordsLocked(names, work),
    };

    // Act
    const report = await syncRegistry(source, bed.mirror);

    // Assess
    expect(report).toMatchObject({ updated: 1, failed: 0 });
    expect(report.changes).toEqual([expect.objectContaining({ source_revision: 2, mirror_revision: 1 })]);
    expect((await mirrorItems(bed.tableName)).get('bucket-00001')).toMatchObject({
      revision: 3,
      status: 'suspended',
      region: 'eu-west-1',
    });
  }, 120_000);

  it('makes an admin write to a record wait while its batch is written, then lets it land on top', async () => {
    // Prepare: a mirror whose batch write is held until the admin write is seen waiting
    await insertRows(bed.db, 3);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let batchStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      batchStarted = resolve;
    });
    const mirror = Object.assign(Object.create(bed.mirror) as typeof bed.mirror, {
      putBatch: async (...args: Parameters<typeof bed.mirror.putBatch>) => {
        batchStarted();
        await held;
        return bed.mirror.putBatch(...args);
      },
    });
    const registry = new WriteThroughBucketRegistry(bed.source, bed.mirror);
    const target = (await bed.source.getByName('bucket-00002'))!;

    // Act
    const sync = syncRegistry(bed.source, mirror);
    await started;
    const update = registry.update(target.id, 1, { status: 'suspended' });
    await waitForLockWait(bed);
    release();
    const [report, updated] = await Promise.all([sync, update]);

    // Assess
    expect(report).toMatchObject({ inserted: 3, failed: 0 });
    expect(updated.revision).toBe(2);
    expect((await mirrorItems(bed.tableName)).get('bucket-00002')).toEqual(updated);
  }, 120_000);

  it('does not delete a record written through while it ran (the mirror is scanned before Fence DB is read)', async () => {
    // Prepare: a registration written through after the sync's scan, before its read of Fence DB
    await insertRows(bed.db, 2);
    const registry = new WriteThroughBucketRegistry(bed.source, bed.mirror);
    const source: SyncSource = {
      async *entries(batchSize) {
        await registry.create(roleRegistration({ bucket_name: 'registered-meanwhile' }));
        yield* bed.source.entries(batchSize);
      },
    };

    // Act
    const report = await syncRegistry(source, bed.mirror);

    // Assess
    expect(report).toMatchObject({ inserted: 2, deleted: 0, failed: 0 });
    expect((await mirrorItems(bed.tableName)).get('registered-meanwhile')).toEqual(
      await bed.source.getByName('registered-meanwhile'),
    );
  }, 120_000);

  it('replaces a deleted bucket registered again under the same name (revision 1, later created_at)', async () => {
    // Prepare: revision 3 in the mirror; then deleted and registered again in Fence DB
    const old = await bed.source.create(roleRegistration({ bucket_name: 'reborn' }));
    await bed.source.update(old.id, 1, { status: 'suspended' });
    await bed.source.update(old.id, 2, { status: 'active' });
    await syncRegistry(bed.source, bed.mirror);
    await bed.db.pool.query(`DELETE FROM ${FENCE_DB_REGISTRY_TABLE} WHERE id = $1`, [old.id]);
    const reborn = await bed.source.create(roleRegistration({ bucket_name: 'reborn', region: 'eu-west-1' }));

    // Act
    const report = await syncRegistry(bed.source, bed.mirror);

    // Assess
    expect(reborn.created_at > old.created_at).toBe(true);
    expect(report).toMatchObject({ updated: 1, skipped: 0 });
    expect((await mirrorItems(bed.tableName)).get('reborn')).toEqual(reborn);
  }, 120_000);

  it('rewrites items edited by hand in DynamoDB at the same revision only when asked to verify content', async () => {
    // Prepare: one item edited, one that no longer parses; both keep their version
    await insertRows(bed.db, 3);
    await syncRegistry(bed.source, bed.mirror);
    const records = await sourceRecords(bed.source);
    const edited = { ...records.get('bucket-00001')!, allowed_ops: ['download', 'upload'] };
    const broken = { ...records.get('bucket-00002')!, allowed_ops: ['teleport'] };
    for (const item of [edited, broken]) {
      await bed.mirror.put(item as never, { created_at: item.created_at, revision: item.revision });
    }

    // Act
    const byVersion = await syncRegistry(bed.source, bed.mirror);
    const byContent = await syncRegistry(bed.source, bed.mirror, { verifyContent: true });

    // Assess
    expect(byVersion).toMatchObject({ updated: 0, unchanged: 3 });
    expect(byContent).toMatchObject({ updated: 2, unchanged: 1, failed: 0 });
    expect(byContent.changes.map((change) => [change.bucket_name, change.reason])).toEqual([
      ['bucket-00001', 'differs'],
      ['bucket-00002', 'differs'],
    ]);
    const items = await mirrorItems(bed.tableName);
    expect(items.get('bucket-00001')).toEqual(records.get('bucket-00001'));
    expect(items.get('bucket-00002')).toEqual(records.get('bucket-00002'));
  }, 120_000);

  it('replaces an item whose version attributes cannot be read', async () => {
    // Prepare: a revision stored as a string, as a hand edit might leave it
    await insertRows(bed.db, 1);
    const record = (await bed.source.getByName('bucket-00001'))!;
    await bed.mirror.put({ ...record, revision: '1' } as never);

    // Act
    const report = await syncRegistry(bed.source, bed.mirror);

    // Assess
    expect(report).toMatchObject({ updated: 1, failed: 0 });
    expect(report.changes).toEqual([
      {
        action: 'update',
        bucket_name: 'bucket-00001',
        source_revision: 1,
        mirror_revision: '1',
        reason: 'differs',
      },
    ]);
    expect((await mirrorItems(bed.tableName)).get('bucket-00001')).toEqual(record);
  }, 120_000);

  it('reports a Fence DB row that breaks the record rules, and neither copies nor deletes it', async () => {
    // Prepare: a valid row mirrored, then broken by hand in Fence DB (static without secret_ref)
    await insertRows(bed.db, 2);
    await syncRegistry(bed.source, bed.mirror);
    await bed.db.pool.query(
      `UPDATE ${FENCE_DB_REGISTRY_TABLE} SET auth_mode = 'static', secrets_backend = 'aws_sm' WHERE bucket_name = 'bucket-00001'`,
    );

    // Act
    const report = await syncRegistry(bed.source, bed.mirror);

    // Assess
    expect(report).toMatchObject({ failed: 1, deleted: 0, unchanged: 1 });
    expect(report.failures).toEqual([
      {
        bucket_name: 'bucket-00001',
        action: 'read',
        code: 'bucket_misconfigured',
        error: expect.stringMatching(/^bucket_misconfigured: .*secret_ref/),
      },
    ]);
    expect((await mirrorItems(bed.tableName)).get('bucket-00001')).toMatchObject({
      auth_mode: 'role',
      revision: 1,
    });
  }, 120_000);

  it('fence-buckets sync --dry-run prints the diff and a summary and writes nothing; then sync writes it', async () => {
    // Prepare
    await insertRows(bed.db, 2);
    const args = ['--table', bed.tableName, 'sync', '--database-url', bed.db.url];
    // The harness's PostgreSQL serves no TLS: said explicitly, as the CLI requires.
    const plainText = { FENCE_DB_SSL: 'disable' };

    // Act
    const dry = await cli([...args, '--dry-run'], plainText);
    const afterDry = await mirrorItems(bed.tableName);
    const real = await cli([...args, '--concurrency', '4'], plainText);
    const again = await cli(['--json', ...args], plainText);
    const noTable = await cli(['sync', '--database-url', bed.db.url], {
      ...plainText,
      REGISTRY_TABLE_NAME: '',
    });
    const record = (await bed.source.getByName('bucket-00001'))!;
    await bed.mirror.put({ ...record, region: 'edited-by-hand' }, record);
    const byVersion = await cli(['--json', ...args, '--dry-run'], plainText);
    const byContent = await cli(['--json', ...args, '--dry-run', '--verify-content'], plainText);

    // Assess
    expect(dry).toMatchObject({ code: 0, err: '' });
    expect(dry.out).toMatch(/insert\s*│\s*bucket-00001\s*│\s*1/);
    expect(dry.out).toMatch(/insert\s*│\s*bucket-00002\s*│\s*1/);
    expect(dry.out).toMatch(/inserted[^\n]*\n.*\n\D*2\D*0\D*0\D*0\D*0\D*0\D*\n/);
    expect(dry.out).toContain('dry run: nothing was written');
    expect(afterDry.size).toBe(0);
    expect(real.code).toBe(0);
    expect(real.out).not.toContain('bucket-00001');
    expect(real.out).not.toContain('dry run');
    expect((await mirrorItems(bed.tableName)).size).toBe(2);
    expect(JSON.parse(again.out)).toMatchObject({ dry_run: false, inserted: 0, unchanged: 2, changes: [] });
    expect(noTable.code).toBe(2);
    expect(noTable.err).toContain('--table');
    expect(JSON.parse(byVersion.out)).toMatchObject({ updated: 0, unchanged: 2 });
    expect(byContent.err).toBe('');
    expect(JSON.parse(byContent.out)).toMatchObject({
      updated: 1,
      unchanged: 1,
      changes: [{ action: 'update', bucket_name: 'bucket-00001', reason: 'differs' }],
    });
  }, 120_000);
});
