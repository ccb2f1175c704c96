import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalRunner } from '../../../functions/local/local-runner';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { minioBucketWithUser } from '../support/admin-bed';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { docBlock } from '../support/doc-block';

const run = promisify(execFile);
const REPO = join(__dirname, '../../..');

/** Runs a page block with bash in the repository (where `npx fence-buckets` resolves). */
async function bash(script: string, env: NodeJS.ProcessEnv = {}) {
  return run('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: REPO,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describe('docs/managing-buckets.md: Managing buckets', () => {
  it('registers, lists, validates, suspends and resumes my-dataset on the local runner, as shown', async () => {
    // Prepare: a runner whose data lives in a directory of this test's, inside the repository as `.local` would.
    const localDir = `.local-test-${crypto.randomUUID().slice(0, 8)}`;
    const keysFile = join(mkdtempSync(join(tmpdir(), 'fbb-readme-')), 'demo-keys.json');
    const runner = await startLocalRunner({
      port: 0,
      env: {
        ...process.env,
        FENCE_LOCAL_DIR: join(REPO, localDir),
        FENCE_DEMO_STORE_PORT: '0',
        FENCE_DEMO_STORE: 'embedded',
        REGISTRY_TABLE_NAME: '',
      },
    });
    const script = docBlock(
      'docs/managing-buckets.md',
      'With `npm start` running, this registers `my-dataset`',
    )
      .replaceAll('.local/', `${localDir}/`)
      .replaceAll('http://127.0.0.1:8787', runner.url)
      .replaceAll('http://127.0.0.1:9000', String(runner.store?.endpoint))
      .replaceAll('demo-keys.json', keysFile);

    try {
      // Act
      const { stdout, stderr } = await bash(script);

      // Assess
      expect(stdout).toMatch(/my-dataset.*minio.*static.*active/);
      expect(stdout).toMatch(/bucket_access.*yes/);
      expect(stdout).toContain('1 of 1 bucket(s) passed');
      expect(stdout).toMatch(/status\s*│\s*suspended/);
      expect(stdout).toMatch(/status\s*│\s*active/);
      expect(stderr).toBe('');
      const check = await fetch(`${runner.url}/v1/admin/buckets/my-dataset`);
      expect(await check.json()).toMatchObject({ bucket_name: 'my-dataset', status: 'active', revision: 3 });
    } finally {
      await runner.close();
      rmSync(join(REPO, localDir), { recursive: true, force: true });
    }
  }, 120_000);

  it('pins a bucket to a labelled version and unpins it, on the emulated Secrets Manager, as shown', async () => {
    // Prepare: a registered bucket (unique names stand in for my-dataset) and its table.
    const table = await createRegistryTable(dynamoDb());
    const store = await minioBucketWithUser();
    const workdir = mkdtempSync(join(tmpdir(), 'fbb-readme-'));
    const keys = JSON.stringify({ access_key_id: store.accessKey, secret_access_key: store.secretKey });
    writeFileSync(join(workdir, 'keys.json'), keys);
    writeFileSync(join(workdir, 'new-keys.json'), keys);
    await bash(
      `npx fence-buckets --table ${table} register --bucket ${store.bucket} --provider minio --auth-mode static --endpoint ${store.endpoint} --allowed-ops download --create-secret --secret-file ${workdir}/keys.json`,
    );
    const script = docBlock('docs/managing-buckets.md', 'then unpinning:')
      .replaceAll('my-dataset', store.bucket)
      .replaceAll('FenceBucketBroker-Registry', table)
      .replaceAll('file://new-keys.json', `file://${workdir}/new-keys.json`);
    const registry = new DynamoDbBucketRegistry(table);

    // Act
    const { stdout } = await bash(script, { AWS_DEFAULT_REGION: process.env.AWS_REGION ?? 'us-east-1' });

    // Assess
    expect(stdout).toMatch(/secret_version\s*│\s*BLUE/);
    expect(await registry.getByName(store.bucket)).toMatchObject({ secret_version: null, revision: 3 });
    expect(stdout).not.toContain(store.secretKey);
  }, 120_000);
});
