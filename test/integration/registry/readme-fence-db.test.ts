import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { PostgresBucketRegistry } from '../../../functions/shared/registry/postgres-bucket-registry';
import { minioBucketWithUser } from '../support/admin-bed';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { freshFenceDb } from '../support/fence-db';
import { readmeBlock } from '../support/readme';

const run = promisify(execFile);
const REPO = join(__dirname, '../../..');

describe('README: Fence DB as the registry of record', () => {
  it('migrates, registers through Fence DB, and syncs with npx fence-buckets, as shown', async () => {
    // Prepare: a database, table and MinIO bucket of this test's standing in for the README's
    const db = await freshFenceDb({ migrated: false });
    const table = await createRegistryTable(dynamoDb());
    const store = await minioBucketWithUser();
    const keysFile = join(mkdtempSync(join(tmpdir(), 'fbb-readme-')), 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify({ access_key_id: store.accessKey, secret_access_key: store.secretKey }),
    );
    const script = readmeBlock('## Fence DB as the registry of record')
      .replaceAll('postgres://fence@fence-db.example.org:5432/fence', db.url)
      .replaceAll('FenceBucketBroker-Registry', table)
      .replaceAll('my-dataset', store.bucket)
      .replaceAll('https://minio.example.org', store.endpoint)
      .replaceAll('keys.json', keysFile);
    const fenceDb = PostgresBucketRegistry.connect({ connectionString: db.url });

    try {
      // Act
      const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: REPO,
        env: { ...process.env },
        encoding: 'utf8',
      });

      // Assess
      expect(stdout).toContain('applied 0001_fence_bucket_registry.sql');
      expect(stdout).toMatch(new RegExp(`bucket_name\\s*│\\s*${store.bucket}`));
      expect(stdout).toContain('dry run: nothing was written');
      expect(stderr).toContain('"mirror":"mirrored"');
      const record = await fenceDb.getByName(store.bucket);
      expect(record).toMatchObject({ bucket_name: store.bucket, revision: 1, provider: 'minio' });
      expect(await new DynamoDbBucketRegistry(table).getByName(store.bucket)).toEqual(record);
      expect(stdout + stderr).not.toContain(store.secretKey);
    } finally {
      await fenceDb.close();
      await db.drop();
    }
  }, 180_000);
});
