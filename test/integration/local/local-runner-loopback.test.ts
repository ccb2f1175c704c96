import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalRunner, startLocalRunner } from '../../../functions/local/local-runner';
import { ConfigurationError } from '../../../functions/shared/errors';
import { freePort } from '../services/process';

const REPO = join(__dirname, '../../..');

/** One request to the runner's port on 127.0.0.1, with exactly the headers given (Host included). */
function send(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += String(chunk)));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** A registration the runner accepts (no proof asked): what a hostile page would try to send. */
const REGISTRATION = JSON.stringify({
  bucket_name: 'planted-by-a-web-page',
  provider: 'minio',
  auth_mode: 'static',
  secrets_backend: 'k8s',
  endpoint: 'http://127.0.0.1:9',
  region: 'us-east-1',
  allowed_ops: ['download'],
  create_secret: true,
  secret: { access_key_id: 'plantedkey', secret_access_key: 'planted-secret-key-0000000000' },
});

describe('Function: startLocalRunner is for one person at this machine', () => {
  let runner: LocalRunner;
  let port: number;

  beforeAll(async () => {
    runner = await startLocalRunner({
      port: 0,
      env: { FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-loopback-')), FENCE_DEMO_STORE: 'none' },
    });
    port = Number(new URL(runner.url).port);
  });

  afterAll(async () => {
    await runner.close();
  });

  const buckets = async () => {
    const answer = await send(port, { path: '/v1/admin/buckets', headers: { host: `127.0.0.1:${port}` } });
    return (answer.body.records as { bucket_name: string }[]).map((record) => record.bucket_name);
  };

  it('refuses a cross-origin text/plain POST to the admin API with 403 caller_not_allowed, and saves nothing', async () => {
    // Act: what a web page's fetch(…, {method: 'POST', mode: 'no-cors'}) sends (no preflight).
    const answer = await send(port, {
      method: 'POST',
      path: '/v1/admin/buckets?validate=false',
      headers: {
        host: `127.0.0.1:${port}`,
        origin: 'https://attacker.example',
        'content-type': 'text/plain;charset=UTF-8',
      },
      body: REGISTRATION,
    });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({
      code: 'caller_not_allowed',
      message: expect.stringContaining('refuses requests with an Origin header'),
    });
    expect(await buckets()).not.toContain('planted-by-a-web-page');
  });

  it.each([
    ['a page of its own origin', `http://127.0.0.1:PORT`],
    ['a sandboxed page', 'null'],
  ])('refuses any Origin, even %s, on every route', async (_, origin) => {
    // Act
    const answers = await Promise.all(
      [
        { method: 'POST', path: '/v1/buckets/demo-bucket/presign', body: '{"key":"a","method":"GET"}' },
        { method: 'GET', path: '/v1/admin/buckets' },
        { method: 'GET', path: '/healthz' },
      ].map((call) =>
        send(port, {
          ...call,
          headers: { host: `127.0.0.1:${port}`, origin: origin.replace('PORT', String(port)) },
        }),
      ),
    );

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.body.error).toMatchObject({ code: 'caller_not_allowed' });
    }
  });

  it.each([
    ['a rebound name', 'attacker.example:PORT'],
    ['a name under localhost', 'localhost.attacker.example:PORT'],
    ['another port', '127.0.0.1:1'],
    ['no port (80)', '127.0.0.1'],
    ['this machine by a LAN name', 'vm:PORT'],
  ])('refuses a Host header naming %s with 403, before reading the request', async (_, host) => {
    // Act
    const answer = await send(port, {
      method: 'POST',
      path: '/v1/admin/buckets?validate=false',
      headers: { host: host.replace('PORT', String(port)), 'content-type': 'application/json' },
      body: REGISTRATION,
    });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({
      code: 'caller_not_allowed',
      message: expect.stringContaining(`answers only requests to 127.0.0.1:${port}, localhost:${port}`),
    });
    expect(await buckets()).not.toContain('planted-by-a-web-page');
  });

  it.each(['127.0.0.1:PORT', 'localhost:PORT', 'LOCALHOST:PORT', '[::1]:PORT'])(
    'answers a request whose Host is %s and that has no Origin',
    async (host) => {
      // Act
      const answer = await send(port, {
        path: '/healthz',
        headers: { host: host.replace('PORT', String(port)) },
      });

      // Assess
      expect(answer).toEqual({ status: 200, body: { status: 'ok', mode: 'files' } });
    },
  );

  it.each(['0.0.0.0', '::', '192.0.2.10', 'example.org'])('refuses to bind %s', async (host) => {
    // Act
    const fromOption = startLocalRunner({ port: 0, host, env: { FENCE_DEMO_STORE: 'none' } });
    const fromVariable = startLocalRunner({
      port: 0,
      env: { FBB_LOCAL_HOST: host, FENCE_DEMO_STORE: 'none' },
    });

    // Assess
    for (const started of [fromOption, fromVariable]) {
      await expect(started).rejects.toThrow(ConfigurationError);
      await expect(started).rejects.toThrow(`the local runner binds to loopback only`);
    }
  });

  it('binds the loopback address FBB_LOCAL_HOST names, and ignores HOST', async () => {
    // Act
    const named = await startLocalRunner({
      port: 0,
      env: {
        FBB_LOCAL_HOST: '127.0.0.2',
        HOST: '0.0.0.0',
        FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-loopback-')),
        FENCE_DEMO_STORE: 'none',
      },
    });
    const unnamed = await startLocalRunner({
      port: 0,
      env: {
        HOST: '0.0.0.0',
        FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-loopback-')),
        FENCE_DEMO_STORE: 'none',
      },
    });
    await Promise.all([named.close(), unnamed.close()]);

    // Assess
    expect(named.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    expect(unnamed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('Command: npm start (bin/local.ts) and its bind address', () => {
  /** Runs the runner as `npm start` does; resolves with its output once it serves or exits. */
  async function start(env: NodeJS.ProcessEnv) {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
      cwd: REPO,
      env: {
        ...process.env,
        PORT: String(port),
        FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-start-')),
        FENCE_DEMO_STORE: 'none',
        REGISTRY_TABLE_NAME: '',
        FBB_LOCAL_HOST: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!output.includes('presign API on') && child.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGTERM');
    return { port, output, code: await exited };
  }

  it('serves on 127.0.0.1 when HOST says 0.0.0.0, and will not start on FBB_LOCAL_HOST=0.0.0.0', async () => {
    // Act
    const withHost = await start({ HOST: '0.0.0.0' });
    const withVariable = await start({ FBB_LOCAL_HOST: '0.0.0.0' });

    // Assess
    expect(withHost.output).toContain(`presign API on http://127.0.0.1:${withHost.port}`);
    expect(withVariable.code).toBe(1);
    expect(withVariable.output).toContain(
      'fence-bucket-broker could not start: the local runner binds to loopback only (127.0.0.1, another 127.x.x.x, ::1 or localhost), not to 0.0.0.0',
    );
  }, 120_000);
});
