import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import {
  FENCE_DB_REGISTRY_TABLE,
  PostgresBucketRegistry,
} from '../../../functions/shared/registry/postgres-bucket-registry';
import { writeSelfSignedCertificate } from '../services/certificates';
import { type PostgresServer, startPostgres } from '../services/postgres';
import { minioBucketWithUser } from '../support/admin-bed';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { docBlock } from '../support/doc-block';

const run = promisify(execFile);

/** `url` as another user (the test server trusts local connections). */
function as(url: string, user: string): string {
  const other = new URL(url);
  other.username = user;
  return other.toString();
}
const REPO = join(__dirname, '../../..');

describe('docs/fence.md: Fence DB as the registry of record', () => {
  // Fence DB over TLS, its CA named by the URL's sslrootcert, as the page shows it: the
  // commands run with the default FENCE_DB_SSL=verify.
  const work = mkdtempSync(join(tmpdir(), 'fbb-readme-tls-'));
  const caFile = join(work, 'fence-db.pem');
  let server: PostgresServer;

  beforeAll(async () => {
    const keyFile = join(work, 'fence-db.key');
    writeSelfSignedCertificate(keyFile, caFile);
    server = await startPostgres({ tls: { keyFile, certificateFile: caFile } });
  }, 60_000);

  afterAll(async () => {
    await server?.process.stop();
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('migrates, registers through Fence DB, and syncs with npx fence-buckets, as shown', async () => {
    // Prepare: a database, table and MinIO bucket of this test's standing in for the page's
    const url = `${server.url}?sslrootcert=${caFile}`;
    // The page's two login users: Fence's, and the broker's own (the server trusts them locally).
    const administrator = new Pool({ connectionString: url, max: 1 });
    try {
      for (const role of ['fence_user', 'fence_bucket_broker']) {
        await administrator.query(`CREATE ROLE ${role} LOGIN`);
      }
    } finally {
      await administrator.end();
    }
    const table = await createRegistryTable(dynamoDb());
    const store = await minioBucketWithUser();
    const keysFile = join(mkdtempSync(join(tmpdir(), 'fbb-readme-')), 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify({ access_key_id: store.accessKey, secret_access_key: store.secretKey }),
    );
    const script = docBlock('docs/fence.md', '## Fence DB as the registry of record')
      .replaceAll(
        'postgres://postgres@fence-db.example.org:5432/fence?sslrootcert=/etc/ssl/certs/rds-global-bundle.pem',
        url,
      )
      .replaceAll(
        'postgres://fence_bucket_broker@fence-db.example.org:5432/fence?sslrootcert=/etc/ssl/certs/rds-global-bundle.pem',
        as(url, 'fence_bucket_broker'),
      )
      .replaceAll('FenceBucketBroker-Registry', table)
      .replaceAll('my-dataset', store.bucket)
      .replaceAll('https://minio.example.org', store.endpoint)
      .replaceAll('keys.json', keysFile);
    const fenceDb = PostgresBucketRegistry.connect({ connectionString: url });
    // The page's commands run under the default FENCE_DB_SSL (verify), whatever this shell says.
    const { FENCE_DB_SSL: _, ...defaultTls } = process.env;

    try {
      // Act
      const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: REPO,
        env: defaultTls,
        encoding: 'utf8',
      });

      // Assess
      expect(stdout).toContain('applied 0001_fence_bucket_registry.sql');
      expect(stdout).toContain(
        'owned by fence_bucket_broker_owner; written by fence_bucket_broker_writer (fence_bucket_broker); read only by fence_user',
      );
      expect(stdout).toMatch(new RegExp(`bucket_name\\s*│\\s*${store.bucket}`));
      expect(stdout).toContain('dry run: nothing was written');
      expect(stderr).toContain('"mirror":"mirrored"');
      const record = await fenceDb.getByName(store.bucket);
      expect(record).toMatchObject({ bucket_name: store.bucket, revision: 1, provider: 'minio' });
      expect(await new DynamoDbBucketRegistry(table).getByName(store.bucket)).toEqual(record);
      expect(stdout + stderr).not.toContain(store.secretKey);
      const asFence = new Pool({ connectionString: as(url, 'fence_user'), max: 1 });
      try {
        expect((await asFence.query(`SELECT bucket_name FROM ${FENCE_DB_REGISTRY_TABLE}`)).rowCount).toBe(1);
        await expect(asFence.query(`DELETE FROM ${FENCE_DB_REGISTRY_TABLE}`)).rejects.toMatchObject({
          code: '42501',
        });
      } finally {
        await asFence.end();
      }
    } finally {
      await fenceDb.close();
    }
  }, 180_000);
});
