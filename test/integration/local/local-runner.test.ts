import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { DEMO_BUCKET, startLocalRunner } from '../../../functions/local/local-runner';
import { readEndpoints } from '../services/endpoints';
import { freePort } from '../services/process';
import { minioRootClient } from '../support/aws';
import { presignBed } from '../support/presign-bed';
import { readmeBlock } from '../support/readme';

const run = promisify(execFile);

const endpoints = readEndpoints();
const post = async (base: string, path: string, body: unknown) => {
  const answer = await fetch(`${base}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
};

describe('Function: startLocalRunner', () => {
  it('serves the API from a registry file and secret files, seeded with a demo bucket that works on MinIO', async () => {
    // Prepare: the demo bucket points at the test MinIO.
    const s3 = minioRootClient(endpoints.minio);
    await s3.send(new CreateBucketCommand({ Bucket: DEMO_BUCKET })).catch(() => undefined);
    const dataDir = mkdtempSync(join(tmpdir(), 'fbb-local-'));
    const runner = await startLocalRunner({
      port: 0,
      env: {
        FENCE_LOCAL_DIR: dataDir,
        FENCE_DEMO_ENDPOINT: endpoints.minio.endpoint,
        FENCE_DEMO_ACCESS_KEY_ID: endpoints.minio.rootUser,
        FENCE_DEMO_SECRET_ACCESS_KEY: endpoints.minio.rootPassword,
        FENCE_SECRET_CACHE_TTL_SECONDS: '1',
      },
    });

    try {
      // Act
      const put = await post(runner.url, `/v1/buckets/${DEMO_BUCKET}/presign`, {
        key: 'local.txt',
        method: 'PUT',
      });
      const uploaded = await fetch(String(put.body.url), { method: 'PUT', body: 'from the local runner' });
      const get = await post(runner.url, `/v1/buckets/${DEMO_BUCKET}/presign`, {
        key: 'local.txt',
        method: 'GET',
      });
      const downloaded = await fetch(String(get.body.url));
      // A changed secret file is picked up once the cache TTL has passed.
      writeFileSync(
        join(dataDir, 'secrets/gen3/fence/minio/demo-bucket'),
        JSON.stringify({ access_key_id: 'rotatedkey', secret_access_key: 'x'.repeat(40) }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1300));
      const afterChange = await post(runner.url, `/v1/buckets/${DEMO_BUCKET}/presign`, {
        key: 'local.txt',
        method: 'GET',
      });
      const health = await fetch(`${runner.url}/healthz`);
      const openApi = await fetch(`${runner.url}/openapi.json`);

      // Assess
      expect(runner.mode).toBe('files');
      expect(put.status).toBe(200);
      expect(uploaded.status).toBe(200);
      expect(await downloaded.text()).toBe('from the local runner');
      expect(String(afterChange.body.url)).toContain('X-Amz-Credential=rotatedkey%2F');
      expect(await health.json()).toEqual({ status: 'ok', mode: 'files' });
      expect(((await openApi.json()) as { openapi: string }).openapi).toBe('3.1.0');
    } finally {
      await runner.close();
    }
  });

  it('switches to DynamoDB and Secrets Manager when REGISTRY_TABLE_NAME is set', async () => {
    // Prepare
    const bed = await presignBed();
    const runner = await startLocalRunner({
      port: 0,
      env: { ...process.env, REGISTRY_TABLE_NAME: bed.tableName },
    });

    try {
      // Act
      const get = await post(runner.url, `/v1/buckets/${bed.bucketName}/presign`, {
        key: 'missing.txt',
        method: 'GET',
      });
      const fetched = await fetch(String(get.body.url));

      // Assess
      expect(runner.mode).toBe('aws');
      expect(get.status).toBe(200);
      // Signed with the keys from Secrets Manager: MinIO checks the signature, then finds no object.
      expect(fetched.status).toBe(404);
    } finally {
      await runner.close();
    }
  });
});

describe('Function: startLocalRunner, bodies as bytes', () => {
  let runner: Awaited<ReturnType<typeof startLocalRunner>> | undefined;
  const postBytes = async (path: string, body: Uint8Array) => {
    const answer = await fetch(`${runner?.url}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    return {
      status: answer.status,
      headers: answer.headers,
      body: (await answer.json()) as { error?: { code: string; message: string; request_id: string } },
    };
  };

  beforeAll(async () => {
    // Its demo store on a free port too: `npm start` may be holding 9000 while the tests run.
    runner = await startLocalRunner({
      port: 0,
      env: { FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-bytes-')), FENCE_DEMO_STORE_PORT: '0' },
    });
  });

  afterAll(async () => {
    await runner?.close();
  });

  it('refuses a body that is not valid UTF-8 with 400, as the Lambda behind API Gateway does', async () => {
    // Act
    const invalid = await postBytes(
      `/v1/buckets/${DEMO_BUCKET}/presign`,
      Buffer.concat([Buffer.from('{"key":"a'), Buffer.from([0xff]), Buffer.from('","method":"GET"}')]),
    );
    const valid = await postBytes(
      `/v1/buckets/${DEMO_BUCKET}/presign`,
      Buffer.from('{"key":"\u00e9t\u00e9","method":"GET"}'),
    );

    // Assess
    expect(invalid.status).toBe(400);
    expect(invalid.body.error?.message).toBe('request body is not valid UTF-8');
    expect(valid.status).toBe(200);
  });

  it('answers a body over the 6 MiB limit with 413 in the usual error shape, an audit line and no stack trace', async () => {
    // Prepare: everything the process writes while the request is served.
    const written: string[] = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);

    // Act
    let answer: Awaited<ReturnType<typeof postBytes>>;
    try {
      answer = await postBytes(`/v1/buckets/${DEMO_BUCKET}/presign`, Buffer.alloc(7 * 1024 * 1024, 0x20));
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }

    // Assess
    expect(answer.status).toBe(413);
    const error = answer.body.error;
    expect(error?.code).toBe('payload_too_large');
    expect(error?.message).toMatch(/^request body is larger than 6291456 bytes/);
    expect(error?.request_id).toMatch(/^[0-9a-f-]{36}$/);
    const audit = written
      .flatMap((text) => text.split('\n'))
      .filter((text) => text.startsWith('{'))
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((line) => line.request_id === error?.request_id);
    expect(audit).toMatchObject({
      outcome: 'payload_too_large',
      status: 413,
      route: 'presign',
      bucket: DEMO_BUCKET,
    });
    expect(written.join('')).not.toMatch(/\n\s+at /);
  }, 30_000);
});

describe('Command: npm start (README quick start)', () => {
  /** Starts `npm start` on free ports; resolves once it says where it serves. */
  async function npmStart(env: NodeJS.ProcessEnv) {
    const port = await freePort();
    const child = spawn('npm', ['start'], {
      cwd: join(__dirname, '../../..'),
      env: {
        ...process.env,
        PORT: String(port),
        FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-start-')),
        FENCE_DEMO_STORE_PORT: '0',
        REGISTRY_TABLE_NAME: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    const deadline = Date.now() + 60_000;
    while (!output.includes('demo-bucket lives on') && child.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      port,
      output: () => output,
      stop: () => {
        if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
      },
    };
  }

  it.each([
    ['MinIO (built by the test-service install)', 'minio', 'MinIO'],
    ['the embedded store', 'embedded', 'embedded S3 store'],
  ])(
    'uploads and downloads through presigned URLs on %s, exactly as the README shows',
    async (_, store, banner) => {
      // Prepare
      const runner = await npmStart({ FENCE_DEMO_STORE: store });
      try {
        expect(runner.output()).toContain(`presign API on http://127.0.0.1:${runner.port}`);
        expect(runner.output()).toContain(banner);
        const script = readmeBlock('In another terminal, upload a file').replaceAll(
          '127.0.0.1:8787',
          `127.0.0.1:${runner.port}`,
        );
        const workdir = mkdtempSync(join(tmpdir(), 'fbb-quickstart-'));

        // Act: the README's commands, with this test's port (asynchronous: the store answers curl).
        const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
          cwd: workdir,
          encoding: 'utf8',
        });
        const url = String(
          (
            (await (
              await fetch(`http://127.0.0.1:${runner.port}/v1/buckets/demo-bucket/presign`, {
                method: 'POST',
                body: JSON.stringify({ key: 'hello.txt', method: 'GET' }),
              })
            ).json()) as { url: string }
          ).url,
        );
        const tampered = await fetch(url.replace('hello.txt', 'hellO.txt'));
        const forged = await fetch(url.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000'));

        // Assess
        expect(stdout).toBe('hello from fence-bucket-broker\n');
        expect(tampered.status).toBe(403);
        expect(forged.status).toBe(403);
      } finally {
        runner.stop();
      }
    },
    120_000,
  );
});
