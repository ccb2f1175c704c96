import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { MigrationFailedError } from '../../../functions/shared/errors';
import { openFenceDbPool } from '../../../functions/shared/registry/fence-db-connection';
import {
  FENCE_DB_MIGRATIONS_DIR,
  MIGRATIONS_TABLE,
  migrateFenceDb,
  readMigrations,
} from '../../../functions/shared/registry/fence-db-migrations';
import { cli } from '../support/cli';
import { type FenceDbUnderTest, freshFenceDb } from '../support/fence-db';

const FIRST = '0001_fence_bucket_registry.sql';
/** The harness's PostgreSQL serves no TLS: said explicitly, as the CLI requires (fence-db-tls.test.ts). */
const PLAIN_TEXT = { FENCE_DB_SSL: 'disable' };

/** A migrations directory holding the repository's first migration and `extra` files. */
function migrationsWith(extra: Record<string, string>): string {
  const directory = mkdtempSync(join(tmpdir(), 'fbb-migrations-'));
  copyFileSync(join(FENCE_DB_MIGRATIONS_DIR, FIRST), join(directory, FIRST));
  for (const [name, sql] of Object.entries(extra)) writeFileSync(join(directory, name), sql);
  return directory;
}

async function tables(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  );
  return rows.map((row) => row.name);
}

describe('Fence DB migrations (PostgreSQL)', () => {
  let db: FenceDbUnderTest;

  beforeEach(async () => {
    db = await freshFenceDb({ migrated: false });
  }, 60_000);

  afterEach(async () => {
    await db.drop();
  }, 60_000);

  it('fence-buckets db migrate creates the registry table, and a rerun changes nothing', async () => {
    // Act
    const first = await cli(['db', 'migrate', '--database-url', db.url], PLAIN_TEXT);
    const second = await cli(['--json', 'db', 'migrate', '--database-url', db.url], PLAIN_TEXT);

    // Assess
    expect(first).toMatchObject({ code: 0, err: '' });
    // The two roles are the cluster's: another test's run may have created them already.
    expect(first.out).toMatch(
      new RegExp(
        `^applied ${FIRST}\nFence DB schema is up to date \\(1 migration\\)\n(created role \\w+\n)*owned by fence_bucket_broker_owner; written by fence_bucket_broker_writer\n$`,
      ),
    );
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out)).toEqual({
      applied: [],
      unchanged: [FIRST],
      roles: {
        owner: 'fence_bucket_broker_owner',
        writer: 'fence_bucket_broker_writer',
        created: [],
        writers: [],
        fence_reader: null,
      },
    });
    expect(await tables(db.pool)).toEqual(['fence_bucket_broker_migrations', 'fence_bucket_registry']);
    const { rows } = await db.pool.query(`SELECT version, name FROM ${MIGRATIONS_TABLE}`);
    expect(rows).toEqual([{ version: '0001', name: FIRST }]);
  });

  it('takes the URL from FENCE_DB_URL, and refuses to run without one (exit 2)', async () => {
    // Act
    const fromEnvironment = await cli(['db', 'migrate'], { ...PLAIN_TEXT, FENCE_DB_URL: db.url });
    const without = await cli(['db', 'migrate'], { ...PLAIN_TEXT, FENCE_DB_URL: '' });

    // Assess
    expect(fromEnvironment.code).toBe(0);
    expect(fromEnvironment.out).toContain(`applied ${FIRST}`);
    expect(without.code).toBe(2);
    expect(without.err).toContain('--database-url');
  });

  it('applies each migration once when two runs start at the same time', async () => {
    // Prepare: two connections, as two operators' shells would have
    const pools = [
      openFenceDbPool({ connectionString: db.url }),
      openFenceDbPool({ connectionString: db.url }),
    ];

    // Act
    const reports = await Promise.all(pools.map((pool) => migrateFenceDb(pool)));

    // Assess
    expect(reports.map((report) => report.applied.length).sort()).toEqual([0, 1]);
    expect(reports.map((report) => report.unchanged.length).sort()).toEqual([0, 1]);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${MIGRATIONS_TABLE}`);
    expect(rows[0].n).toBe(1);
    await Promise.all(pools.map((pool) => pool.end()));
  });

  it('rolls a failing migration back whole, stops there, and applies it once it is fixed', async () => {
    // Prepare: 0002 creates a table, then fails on its second statement
    const broken = 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n';
    const directory = migrationsWith({
      '0002_broken.sql': broken,
      '0003_after.sql': 'CREATE TABLE after_it (id int);',
    });

    // Act
    const failed = migrateFenceDb(db.pool, readMigrations(directory));

    // Assess
    await expect(failed).rejects.toBeInstanceOf(MigrationFailedError);
    await expect(failed).rejects.toMatchObject({ migration: '0002_broken.sql' });
    expect(await tables(db.pool)).toEqual(['fence_bucket_broker_migrations', 'fence_bucket_registry']);

    // Act: the operator fixes 0002 and runs again
    writeFileSync(join(directory, '0002_broken.sql'), 'CREATE TABLE half_done (id int);\n');
    const report = await migrateFenceDb(db.pool, readMigrations(directory));

    // Assess
    expect(report).toEqual({ applied: ['0002_broken.sql', '0003_after.sql'], unchanged: [FIRST] });
    expect(await tables(db.pool)).toEqual([
      'after_it',
      'fence_bucket_broker_migrations',
      'fence_bucket_registry',
      'half_done',
    ]);
  });

  it('refuses to run when an applied migration was edited afterwards, naming it', async () => {
    // Prepare
    const directory = migrationsWith({ '0002_extra.sql': 'CREATE TABLE extra (id int);' });
    await migrateFenceDb(db.pool, readMigrations(directory));
    writeFileSync(join(directory, '0002_extra.sql'), 'CREATE TABLE extra (id bigint);');

    // Act
    const rerun = migrateFenceDb(db.pool, readMigrations(directory));

    // Assess
    await expect(rerun).rejects.toThrow(/0002_extra\.sql was changed after it was applied/);
  });

  it('refuses a migration file not named NNNN_name.sql', async () => {
    const directory = migrationsWith({ 'extra.sql': 'SELECT 1;' });
    await expect(readMigrations(directory)).rejects.toThrow(/extra\.sql is not named NNNN_name\.sql/);
  });
});
