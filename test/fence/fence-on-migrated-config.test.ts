import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type LocalRunner, startLocalRunner } from '../../functions/local/local-runner';
import { createRegistryTable, dynamoDb } from '../integration/support/aws';
import { cli } from '../integration/support/cli';
import { type FenceDbUnderTest, freshFenceDb } from '../integration/support/fence-db';
import { migrationBed } from '../integration/support/migration-bed';
import { fenceBuild, fenceEnv, runFencePython } from './fence-python';

const DRIVERS = join(__dirname, '../../clients/python/fence-patch');
const DOWNLOAD_DRIVER = join(DRIVERS, 'fence_download.py');
const UPLOAD_DRIVER = join(DRIVERS, 'fence_upload.py');

/** fence_upload.py's multipart parts for `seed` (a part but the last is 5 MiB, S3's minimum). */
function multipartParts(seed: string): Buffer[] {
  const size = 5 * 1024 * 1024;
  const unit = Buffer.from(seed);
  return [Buffer.alloc(size, unit), Buffer.from(`tail ${seed}`)];
}

/** The access key id a SigV4 presigned URL was signed with (its X-Amz-Credential's first part). */
function signingKeyId(url: string): string | undefined {
  return new URL(url).searchParams.get('X-Amz-Credential')?.split('/')[0];
}

/**
 * Issue 21, items 1 and 2: Gen3 Fence (the pinned release, patched) starts on the file
 * `fence-buckets migrate` writes and serves /data/download, /data/upload and the multipart routes
 * through the broker (`npm start`'s local runner, whose record of the bucket points at the store
 * the file named).
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

  /**
   * The bucket in the broker, as migrate registers it in the stack (`allowed_ops`: migrate adds
   * upload and multipart for a bucket of ALLOWED_DATA_UPLOAD_BUCKETS); a client of the store.
   */
  async function registerInBroker(
    store: { bucket: string; endpoint: string },
    keys: { access_key_id: string; secret_access_key: string },
    allowedOps: string[],
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
        allowed_ops: allowedOps,
        create_secret: true,
        secret: keys,
      }),
    });
    expect(registration.status).toBe(201);
    return new S3Client({
      endpoint: store.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: keys.access_key_id, secretAccessKey: keys.secret_access_key },
    });
  }

  /** The bucket in the broker and one object in it. */
  async function storeObject(
    store: { bucket: string; endpoint: string },
    keys: { access_key_id: string; secret_access_key: string },
  ) {
    const s3 = await registerInBroker(store, keys, ['download', 'upload']);
    const key = `${crypto.randomUUID()}/reads.bam`;
    const body = `object ${crypto.randomUUID()}`;
    await s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: body }));
    return { url: `s3://${store.bucket}/${key}`, body };
  }

  /** Runs a driver of fence-patch/ in Fence's venv on `configPath`; its last line, parsed. */
  async function runDriver<T>(driver: string, args: string[], configPath: string): Promise<T> {
    const run = await runFencePython([driver, ...args], {
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
    return JSON.parse(last) as T;
  }

  /**
   * The test fixture migrated as the README shows (every key out of the file), then two settings
   * of the fixture's deployment that a test has no service for changed (migrate leaves them
   * alone): audit logs (Fence asks the audit service for its schema at start-up), and visa
   * parsing, which Fence refuses without its cron (config-default.yaml has false).
   */
  async function migratedFixture() {
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
    const audit = 'ENABLE_AUDIT_LOGS:\n  presigned_url: true\n  login: true\n';
    expect(file).toContain(audit);
    const configPath = join(bed.directory, 'fence-config-for-fence.yaml');
    writeFileSync(
      configPath,
      `${file.replace(audit, 'ENABLE_AUDIT_LOGS:\n  presigned_url: false\n  login: false\n')}\nGLOBAL_PARSE_VISAS_ON_LOGIN: false\n`,
    );
    return { bed, keys, configPath };
  }

  /** Fence started on `configPath`, asked for `/data/download/<guid>` of the object at `url`. */
  function downloadThroughFence(configPath: string, url: string) {
    return runDriver<{ status: number; body: { url?: string } | null }>(
      DOWNLOAD_DRIVER,
      [crypto.randomUUID(), url],
      configPath,
    );
  }

  it('starts on the migrated test fixture and returns a broker URL the store serves', async () => {
    // Prepare
    const { bed, keys, configPath } = await migratedFixture();
    const object = await storeObject(bed.store, keys);

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

  it('serves /data/upload and the multipart routes for a migrated bucket through the broker, to a signed-in user arborist lets upload', async () => {
    // Prepare: the fixture's MinIO bucket is in its ALLOWED_DATA_UPLOAD_BUCKETS, so migrate
    // registers it for upload and multipart too.
    const { bed, keys, configPath } = await migratedFixture();
    const s3 = await registerInBroker(bed.store, keys, ['download', 'upload', 'multipart']);
    const guid = crypto.randomUUID();
    const seed = `part ${crypto.randomUUID()} `;
    const objectUrl = (key: string) => `${bed.store.endpoint}/${bed.store.bucket}/${guid}/${key}?`;
    const stored = async (key: string) => {
      const object = await s3.send(new GetObjectCommand({ Bucket: bed.store.bucket, Key: `${guid}/${key}` }));
      return Buffer.from(await (object.Body?.transformToByteArray() ?? new Uint8Array()));
    };
    type Answer = { status: number; body: Record<string, unknown> | null };

    // Act
    const answer = await runDriver<{
      denied: Answer;
      upload: Answer;
      init: Answer;
      parts: { status: number; url: string | null; store_status: number | null; etag: string | null }[];
      complete: Answer;
      arborist: { resource: string; action: { service: string; method: string } }[][];
    }>(UPLOAD_DRIVER, [guid, bed.store.bucket, seed], configPath);

    // Assess: arborist's refusal is Fence's 401, with no URL.
    expect(answer.denied.status).toBe(401);
    expect(JSON.stringify(answer.denied.body)).not.toContain(bed.store.endpoint);
    // /data/upload/<guid>: a PUT URL signed by the broker with the keys migrate moved out of the
    // file (Fence holds none), which the store accepts.
    expect(answer.upload.status).toBe(200);
    const putUrl = String(answer.upload.body?.url);
    expect(putUrl.startsWith(objectUrl('reads.bam'))).toBe(true);
    expect(signingKeyId(putUrl)).toBe(keys.access_key_id);
    const body = `uploaded through Fence ${crypto.randomUUID()}`;
    const put = await fetch(putUrl, { method: 'PUT', body });
    expect(put.status).toBe(200);
    expect((await stored('reads.bam')).toString()).toBe(body);
    // The multipart routes: init, a part URL per part (each PUT to the store), complete.
    expect(answer.init.status).toBe(201);
    expect(answer.init.body?.guid).toBe(guid);
    expect(answer.parts).toHaveLength(2);
    for (const part of answer.parts) {
      expect(part.status).toBe(200);
      expect(String(part.url).startsWith(objectUrl('multipart.bin'))).toBe(true);
      expect(signingKeyId(String(part.url))).toBe(keys.access_key_id);
      expect(part.store_status).toBe(200);
    }
    expect(answer.complete).toEqual({ status: 200, body: { message: 'OK' } });
    expect((await stored('multipart.bin')).equals(Buffer.concat(multipartParts(seed)))).toBe(true);
    // What Fence asked arborist: write-storage on the record's authz for /data/upload (refused,
    // then allowed), file_upload on /data_file for each multipart call.
    const asked = answer.arborist.map((requests) =>
      requests.map(({ resource, action }) => `${action.method} ${resource}`).join(','),
    );
    expect(asked).toEqual([
      'write-storage /programs/broker/projects/uploads',
      'write-storage /programs/broker/projects/uploads',
      ...Array(4).fill('file_upload /data_file'),
    ]);
  }, 240_000);
});
