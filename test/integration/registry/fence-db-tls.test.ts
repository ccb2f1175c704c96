import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { writeSelfSignedCertificate } from '../services/certificates';
import { type PostgresServer, startPostgres } from '../services/postgres';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { cli } from '../support/cli';
import { type FenceDbUnderTest, freshFenceDb } from '../support/fence-db';

async function tables(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  );
  return rows.map((row) => row.name);
}

/**
 * The CLI's Fence DB connections (`db migrate`, `sync`, `REGISTRY_SOURCE=postgres`) on two real
 * PostgreSQL servers: the harness's, which serves no TLS, and one of this file's own serving TLS
 * with a certificate for `localhost` only (its CA trusted only when the URL names it), so
 * connecting to 127.0.0.1 is a host name mismatch. `FENCE_DB_SSL` is unset unless a test sets it.
 */
describe('Fence DB connections verify TLS by default (fence-buckets, PostgreSQL)', () => {
  const work = mkdtempSync(join(tmpdir(), 'fbb-fence-db-tls-'));
  const caFile = join(work, 'fence-db.pem');
  const defaults = { FENCE_DB_SSL: undefined, PGSSLMODE: undefined };
  let tlsServer: PostgresServer;
  let tlsPort: string;
  let plain: FenceDbUnderTest;

  beforeAll(async () => {
    const keyFile = join(work, 'fence-db.key');
    writeSelfSignedCertificate(keyFile, caFile, { commonName: 'localhost', subjectAltName: 'DNS:localhost' });
    tlsServer = await startPostgres({ tls: { keyFile, certificateFile: caFile } });
    tlsPort = new URL(tlsServer.url).port;
  }, 60_000);

  beforeEach(async () => {
    plain = await freshFenceDb({ migrated: false });
  }, 60_000);

  afterEach(async () => {
    await plain.drop();
  }, 60_000);

  afterAll(async () => {
    await tlsServer?.process.stop();
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('refuses a server without TLS: db migrate creates nothing', async () => {
    // Act
    const migrated = await cli(['db', 'migrate', '--database-url', plain.url], defaults);

    // Assess
    expect(migrated.code).toBe(1);
    expect(migrated.err).toContain('The server does not support SSL connections');
    expect(await tables(plain.pool)).toEqual([]);
  });

  it('refuses a certificate of an unknown CA and one that does not name the host; connects when both hold', async () => {
    // Act
    const unknownCa = await cli(
      ['db', 'migrate', '--database-url', `postgres://fence@localhost:${tlsPort}/fence`],
      defaults,
    );
    const wrongHost = await cli(
      [
        'db',
        'migrate',
        '--database-url',
        `postgres://fence@127.0.0.1:${tlsPort}/fence?sslrootcert=${caFile}`,
      ],
      defaults,
    );
    const verified = `postgres://fence@localhost:${tlsPort}/fence?sslrootcert=${caFile}`;
    const migrated = await cli(['db', 'migrate', '--database-url', verified], defaults);
    const synced = await cli(
      ['--json', '--table', await createRegistryTable(dynamoDb()), 'sync', '--dry-run'],
      { ...defaults, FENCE_DB_URL: verified },
    );

    // Assess
    expect(unknownCa.code).toBe(1);
    expect(unknownCa.err).toMatch(/self[- ]signed certificate/);
    expect(wrongHost.code).toBe(1);
    expect(wrongHost.err).toContain("IP: 127.0.0.1 is not in the cert's list");
    expect(migrated).toMatchObject({ code: 0, err: '' });
    expect(migrated.out).toContain('Fence DB schema is up to date');
    expect(synced.code).toBe(0);
    expect(JSON.parse(synced.out)).toMatchObject({ dry_run: true, failed: 0 });
  });

  it.each(['disable', 'allow', 'prefer', 'require', 'verify-ca'])(
    'refuses a URL with sslmode=%s under the default (verify-full) before connecting, in db migrate and sync',
    async (sslmode) => {
      // Prepare: a server that would accept the plain connection the URL asks for.
      const url = `${plain.url}?sslmode=${sslmode}`;

      // Act
      const migrated = await cli(['db', 'migrate', '--database-url', url], defaults);
      const synced = await cli(['--table', 'any-table', 'sync', '--database-url', url], defaults);

      // Assess
      for (const answer of [migrated, synced]) {
        expect(answer.code).toBe(2);
        expect(answer.err).toContain(
          `the Fence DB URL asks for sslmode=${sslmode}, weaker than FENCE_DB_SSL=verify`,
        );
      }
      expect(await tables(plain.pool)).toEqual([]);
    },
  );

  it('refuses a URL with sslmode=disable under FENCE_DB_SSL=require too, and obeys a URL asking for more', async () => {
    // Act
    const weaker = await cli(['db', 'migrate', '--database-url', `${plain.url}?sslmode=disable`], {
      FENCE_DB_SSL: 'require',
    });
    const stronger = await cli(
      ['db', 'migrate', '--database-url', `postgres://fence@127.0.0.1:${tlsPort}/fence?sslmode=verify-full`],
      { FENCE_DB_SSL: 'require' },
    );

    // Assess
    expect(weaker.code).toBe(2);
    expect(weaker.err).toContain('asks for sslmode=disable, weaker than FENCE_DB_SSL=require');
    // verify-full over `require`: the unknown CA is refused, where `require` alone would connect.
    expect(stronger.code).toBe(1);
    expect(stronger.err).toMatch(/self[- ]signed certificate/);
  });

  it('connects without TLS only when FENCE_DB_SSL=disable is set explicitly', async () => {
    // Act
    const migrated = await cli(['db', 'migrate', '--database-url', plain.url], { FENCE_DB_SSL: 'disable' });
    const unknownMode = await cli(['db', 'migrate', '--database-url', plain.url], { FENCE_DB_SSL: 'off' });

    // Assess
    expect(migrated.code).toBe(0);
    expect(await tables(plain.pool)).toContain('fence_bucket_registry');
    expect(unknownMode.code).toBe(2);
    expect(unknownMode.err).toContain('FENCE_DB_SSL must be one of verify, require, disable');
  });

  it('REGISTRY_SOURCE=postgres (admin commands in process) verifies too, and refuses a weaker sslmode', async () => {
    // Prepare
    const tableName = await createRegistryTable(dynamoDb());
    const env = { ...defaults, REGISTRY_SOURCE: 'postgres', REGISTRY_TABLE_NAME: tableName };

    // Act
    const plainServer = await cli(['list'], { ...env, FENCE_DB_URL: plain.url });
    const weaker = await cli(['list'], { ...env, FENCE_DB_URL: `${plain.url}?sslmode=disable` });

    // Assess
    expect(plainServer.code).toBe(1);
    expect(plainServer.err).toContain('The server does not support SSL connections');
    expect(weaker.code).toBe(1);
    expect(weaker.err).toContain('asks for sslmode=disable, weaker than FENCE_DB_SSL=verify');
  });
});
