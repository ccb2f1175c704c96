import { Pool } from 'pg';
import { migrateFenceDb } from '../../../functions/shared/registry/fence-db-migrations';
import {
  FENCE_DB_REGISTRY_TABLE,
  PostgresBucketRegistry,
} from '../../../functions/shared/registry/postgres-bucket-registry';
import { roleRegistration } from '../../fixtures/bucket-records';
import { readEndpoints } from '../services/endpoints';
import { cli } from '../support/cli';
import { type FenceDbUnderTest, freshFenceDb } from '../support/fence-db';

/** `url` as another user (the test server trusts local connections). */
function as(url: string, user: string): string {
  const other = new URL(url);
  other.username = user;
  other.password = '';
  return other.toString();
}

/** The run's PostgreSQL listens on loopback without TLS. */
const PLAIN_TEXT = { FENCE_DB_SSL: 'disable' };

/** The SQLSTATE a statement ends with ('ok' when it succeeds). */
async function outcome(pool: Pool, sql: string): Promise<string> {
  try {
    await pool.query(sql);
    return 'ok';
  } catch (error) {
    return String((error as { code?: string }).code);
  }
}

describe('fence-buckets db migrate: owner role and grants (PostgreSQL)', () => {
  const suffix = crypto.randomUUID().replace(/-/g, '').slice(0, 10);
  const fenceUser = `fence_app_${suffix}`;
  const brokerUser = `fence_broker_${suffix}`;
  let db: FenceDbUnderTest;
  let server: Pool;
  let fence: Pool;
  let broker: Pool;

  beforeAll(async () => {
    server = new Pool({ connectionString: readEndpoints().postgresUrl, max: 1 });
    db = await freshFenceDb({ migrated: false });
    await db.pool.query(`CREATE ROLE ${fenceUser} LOGIN`);
    await db.pool.query(`CREATE ROLE ${brokerUser} LOGIN`);
    // Today's common state: Fence's own user ran the migrations, so it owns the table.
    await db.pool.query(`GRANT CREATE ON SCHEMA public TO ${fenceUser}`);
    fence = new Pool({ connectionString: as(db.url, fenceUser), max: 1 });
    broker = new Pool({ connectionString: as(db.url, brokerUser), max: 1 });
    // An idle connection the server ends (DROP DATABASE … WITH (FORCE) at teardown, 57P01) is an
    // 'error' event on its pool; unheard, it fails the file after its tests passed (seen once, loaded).
    for (const pool of [server, fence, broker]) pool.on('error', () => undefined);
    await migrateFenceDb(fence);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([fence.end(), broker.end()]);
    await db.drop();
    await server.query(`DROP ROLE IF EXISTS ${fenceUser}`);
    await server.query(`DROP ROLE IF EXISTS ${brokerUser}`);
    await server.end();
  }, 60_000);

  it("hands the tables to the broker's owner role, leaves Fence's user SELECT only, and lets the broker's user write", async () => {
    // Prepare: the owner Fence's user is today can write the registry
    expect(
      await outcome(
        fence,
        `INSERT INTO ${FENCE_DB_REGISTRY_TABLE} (id, bucket_name, provider, auth_mode, role_arn, allowed_ops)
         VALUES (gen_random_uuid(), 'before-grants', 'aws', 'role', 'arn:aws:iam::123456789012:role/r', ARRAY['download'])`,
      ),
    ).toBe('ok');

    // Act
    const run = await cli(
      ['db', 'migrate', '--database-url', db.url, '--fence-user', fenceUser, '--broker-user', brokerUser],
      PLAIN_TEXT,
    );

    // Assess
    expect([run.code, run.err]).toEqual([0, '']);
    expect(run.out).toContain(
      `owned by fence_bucket_broker_owner; written by fence_bucket_broker_writer (${brokerUser}); read only by ${fenceUser}`,
    );
    const { rows } = await db.pool.query(
      `SELECT tableowner FROM pg_tables WHERE tablename IN ('${FENCE_DB_REGISTRY_TABLE}', 'fence_bucket_broker_migrations')`,
    );
    expect(rows.map((row) => row.tableowner)).toEqual([
      'fence_bucket_broker_owner',
      'fence_bucket_broker_owner',
    ]);
    const table = FENCE_DB_REGISTRY_TABLE;
    expect({
      select: await outcome(fence, `SELECT bucket_name FROM ${table}`),
      insert: await outcome(
        fence,
        `INSERT INTO ${table} (id, bucket_name, provider, auth_mode, role_arn, allowed_ops)
         VALUES (gen_random_uuid(), 'by-fence', 'aws', 'role', 'arn:aws:iam::123456789012:role/r', ARRAY['download'])`,
      ),
      update: await outcome(fence, `UPDATE ${table} SET secret_ref = 'gen3/fence/admin/minio/root'`),
      delete: await outcome(fence, `DELETE FROM ${table}`),
      truncate: await outcome(fence, `TRUNCATE ${table}`),
      alter: await outcome(fence, `ALTER TABLE ${table} DISABLE TRIGGER USER`),
      grant: await outcome(fence, `GRANT INSERT ON ${table} TO PUBLIC`),
      migrations: await outcome(fence, 'DELETE FROM fence_bucket_broker_migrations'),
    }).toEqual({
      select: 'ok',
      insert: '42501',
      update: '42501',
      delete: '42501',
      truncate: '42501',
      alter: '42501',
      grant: 'ok', // a GRANT without the privilege only warns, and grants nothing
      migrations: '42501',
    });
    expect(await outcome(fence, `INSERT INTO ${table} (id) VALUES (gen_random_uuid())`)).toBe('42501');
    // The broker's user writes through the registry, and locks rows as the sync does.
    const registry = PostgresBucketRegistry.connect({ connectionString: as(db.url, brokerUser) });
    try {
      const created = await registry.create(roleRegistration({ bucket_name: 'by-broker' }));
      expect(created.revision).toBe(1);
      expect(
        await registry.withRecordsLocked(['by-broker'], async (entries) =>
          entries.map((entry) => entry.bucket_name),
        ),
      ).toEqual(['by-broker']);
    } finally {
      await registry.close();
    }
  }, 60_000);

  it("is idempotent on rerun, and refuses to run as Fence's user", async () => {
    // Act
    const again = await cli(
      ['--json', 'db', 'migrate', '--database-url', db.url, '--fence-user', fenceUser],
      PLAIN_TEXT,
    );
    const asFence = await cli(
      ['db', 'migrate', '--database-url', as(db.url, fenceUser), '--fence-user', fenceUser],
      PLAIN_TEXT,
    );

    // Assess
    expect([again.code, again.err]).toEqual([0, '']);
    expect(JSON.parse(again.out)).toMatchObject({
      applied: [],
      unchanged: ['0001_fence_bucket_registry.sql'],
      roles: { owner: 'fence_bucket_broker_owner', created: [], fence_reader: fenceUser },
    });
    expect(await outcome(fence, `DELETE FROM ${FENCE_DB_REGISTRY_TABLE}`)).toBe('42501');
    expect(asFence.code).not.toBe(0);
    expect(asFence.err).toContain(`db migrate runs as ${fenceUser}`);
  }, 60_000);
});
