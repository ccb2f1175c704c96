import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type LocalRunner, startLocalRunner } from '../../functions/local/local-runner';
import { createRegistryTable, dynamoDb } from '../integration/support/aws';
import { cli } from '../integration/support/cli';
import { type FenceDbUnderTest, freshFenceDb } from '../integration/support/fence-db';
import { migrationBed } from '../integration/support/migration-bed';
import { fenceBuild, fenceEnv, runFencePython } from './fence-python';

const DRIVER = join(__dirname, '../../clients/python/fence-patch/fence_download.py');

/**
 * Issue 21, items 1 and 2: Gen3 Fence (the pinned release, patched) starts on the file
 * `fence-buckets migrate` writes and serves /data/download through the broker (`npm start`'s
 * local runner, whose record of the bucket points at the store the file named).
 */
describe('Gen3 Fence on a config written by fence-buckets migrate', () => {
  let runner: LocalRunner;
  let db: FenceDbUnderTest;

  beforeAll(async () => {
    runner = await startLocalRunner({
      port: 0,
      env: { FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-fence-')), FENCE_DEMO_STORE: 'none' },
    });
    db = await freshFenceDb({ migrated: false });
  });

  afterAll(async () => {
    await runner?.close();
    await db?.drop();
  });

  /** The bucket in the broker (as migrate registers it in the stack) and one object in it. */
  async function storeObject(
    store: { bucket: string; endpoint: string },
    keys: { access_key_id: string; secret_access_key: string },
  ) {
    const registration = await fetch(`${runner.url}/v1/admin/buckets?validate=false`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        bucket_name: store.bucket,
        provider: 'minio',
        auth_mode: 'static',
        secrets_backend: 'k8s',
        endpoint: store.endpoint,
        region: 'us-east-1',
        allowed_ops: ['download', 'upload'],
        create_secret: true,
        secret: keys,
      }),
    });
    expect(registration.status).toBe(201);
    const key = `${crypto.randomUUID()}/reads.bam`;
    const body = `object ${crypto.randomUUID()}`;
    const s3 = new S3Client({
      endpoint: store.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: keys.access_key_id, secretAccessKey: keys.secret_access_key },
    });
    await s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: body }));
    return { url: `s3://${store.bucket}/${key}`, body };
  }

  /** Fence started on `configPath`, asked for `/data/download/<guid>` of the object at `url`. */
  async function downloadThroughFence(configPath: string, url: string) {
    const guid = crypto.randomUUID();
    const run = await runFencePython([DRIVER, guid, url], {
      cwd: fenceBuild().source,
      env: fenceEnv({
        DB: db.url,
        PROMETHEUS_MULTIPROC_DIR: mkdtempSync(join(tmpdir(), 'fence-prometheus-')),
        FENCE_CONFIG_PATH: configPath,
        FENCE_BUCKET_BROKER_URL: runner.url,
      }),
    });
    const last = run.stdout.trim().split('\n').at(-1) ?? '';
    if (run.code !== 0 || !last.startsWith('{')) {
      throw new Error(
        `Fence did not answer (exit ${run.code}):\n${run.stderr.split('\n').slice(-30).join('\n')}`,
      );
    }
    return JSON.parse(last) as { status: number; body: { url?: string } | null };
  }

  it('starts on the migrated test fixture and returns a broker URL the store serves', async () => {
    // Prepare: the fixture migrated as the README shows, every key out of the file.
    const bed = await migrationBed();
    const migrated = await cli(
      ['--table', bed.table, 'migrate', '--config', bed.configPath, '--remove-shared-credentials'],
      { FENCE_SECRETS_PREFIX: bed.prefix },
    );
    expect(migrated.code).toBe(0);
    const file = readFileSync(bed.configPath, 'utf8');
    for (const key of bed.keyValues) expect(file).not.toContain(key);
    const keys = bed.keys['CRED-MINIO'];
    if (keys === undefined) throw new Error('the fixture has no CRED-MINIO');
    const object = await storeObject(bed.store, keys);
    // Two settings of the fixture's deployment that a test has no service for, changed after the
    // migration (it leaves them alone): audit logs (Fence asks the audit service for its schema at
    // start-up), and visa parsing, which Fence refuses without its cron (config-default.yaml has false).
    const audit = 'ENABLE_AUDIT_LOGS:\n  presigned_url: true\n  login: true\n';
    expect(file).toContain(audit);
    const configPath = join(bed.directory, 'fence-config-for-fence.yaml');
    writeFileSync(
      configPath,
      `${file.replace(audit, 'ENABLE_AUDIT_LOGS:\n  presigned_url: false\n  login: false\n')}\nGLOBAL_PARSE_VISAS_ON_LOGIN: false\n`,
    );

    // Act
    const answer = await downloadThroughFence(configPath, object.url);

    // Assess
    expect(answer.status).toBe(200);
    const signed = String(answer.body?.url);
    expect(signed.startsWith(`${bed.store.endpoint}/${bed.store.bucket}/`)).toBe(true);
    const fetched = await fetch(signed);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toBe(object.body);
  }, 240_000);

  it("starts on Fence's own config-default.yaml, credentials filled in and migrated, and returns a broker URL the store serves", async () => {
    // Prepare: Fence's default config with one credential and one bucket, as an operator fills it.
    const bed = await migrationBed();
    const configPath = join(bed.directory, 'config-default.yaml');
    const defaults = readFileSync(join(fenceBuild().source, 'fence/config-default.yaml'), 'utf8');
    const filled = defaults
      .replace(
        /^AWS_CREDENTIALS: \{\}$/m,
        `AWS_CREDENTIALS:\n  'CRED1':\n    aws_access_key_id: '${bed.store.accessKey}'\n    aws_secret_access_key: '${bed.store.secretKey}'`,
      )
      .replace(
        /^S3_BUCKETS: \{\}$/m,
        `S3_BUCKETS:\n  ${bed.store.bucket}:\n    cred: 'CRED1'\n    region: 'us-east-1'\n    endpoint_url: '${bed.store.endpoint}/'`,
      );
    expect(filled).not.toBe(defaults);
    writeFileSync(configPath, filled);
    const table = await createRegistryTable(dynamoDb());
    const migrated = await cli(['--table', table, 'migrate', '--config', configPath], {
      FENCE_SECRETS_PREFIX: `${bed.prefix}default/`,
    });
    expect(`${migrated.out}${migrated.err}`).toContain('migration complete');
    expect(migrated.code).toBe(0);
    const file = readFileSync(configPath, 'utf8');
    expect(file).not.toContain(bed.store.secretKey);
    expect(file).not.toContain(bed.store.accessKey);
    const object = await storeObject(bed.store, {
      access_key_id: bed.store.accessKey,
      secret_access_key: bed.store.secretKey,
    });

    // Act
    const answer = await downloadThroughFence(configPath, object.url);

    // Assess
    expect(answer.status).toBe(200);
    const fetched = await fetch(String(answer.body?.url));
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toBe(object.body);
  }, 240_000);
});
