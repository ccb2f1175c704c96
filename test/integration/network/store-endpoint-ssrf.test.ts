import type { LookupAddress } from 'node:dns';
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BucketAdmin } from '../../../functions/shared/admin/bucket-admin';
import { FileSecretResolver } from '../../../functions/shared/backends/kubernetes/file-secret-resolver';
import { StoreEndpointRefusedError } from '../../../functions/shared/errors';
import { errorResponse } from '../../../functions/shared/http/api-response';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { StoreEndpointPolicy } from '../../../functions/shared/network/store-endpoint-policy';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import type { ObjectLocation } from '../../../functions/shared/presign/object-location';
import { probeStoreBucket } from '../../../functions/shared/probes/bucket-access-probe';
import { BucketRegistrationSchema } from '../../../functions/shared/registry/bucket-record';
import { FileBucketRegistry } from '../../../functions/shared/registry/file-bucket-registry';
import { parseRequest } from '../../../functions/shared/validation';

/** A request a fake store received. */
interface Received {
  method: string;
  url: string;
}

/** A store on 127.0.0.1 that records every request and answers each with `answer`. */
async function fakeStore(
  answer: (request: Received) => { status: number; headers?: Record<string, string>; body?: string },
): Promise<{ received: Received[]; port: number; url: string; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const seen = { method: request.method ?? '', url: request.url ?? '' };
      received.push(seen);
      const { status, headers = {}, body = '' } = answer(seen);
      response.writeHead(status, { 'content-type': 'application/xml', ...headers }).end(body);
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    received,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A resolver that knows a few names (no DNS server here), as `dns.lookup` with `all: true` answers. */
function resolverOf(names: Record<string, string>) {
  return (hostname: string, callback: (error: Error | null, addresses: LookupAddress[]) => void) => {
    const address = names[hostname];
    if (address === undefined) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      return;
    }
    callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
  };
}

function locationAt(host: string): ObjectLocation {
  return {
    protocol: 'http:',
    host,
    path: '/data-bucket/big.bin',
    region: 'us-east-1',
    bucket: 'data-bucket',
    encodedKey: 'big.bin',
  };
}

const access = { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' } };

async function failure(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('SSRF: the store-endpoint policy at connect time (real sockets, fake stores on loopback)', () => {
  const stores: { close: () => Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });
  async function store(answer: Parameters<typeof fakeStore>[0]) {
    const started = await fakeStore(answer);
    stores.push(started);
    return started;
  }

  it('refuses a host name that resolves to a private address, before a byte is sent; a listed name connects', async () => {
    // Prepare: "store.example.org" resolves to the fake on 127.0.0.1 (a private address).
    const fake = await store(() => ({
      status: 200,
      body: '<InitiateMultipartUploadResult><UploadId>upload-1</UploadId></InitiateMultipartUploadResult>',
    }));
    const resolve = resolverOf({ 'store.example.org': '127.0.0.1' });
    const strict = new StoreEndpointPolicy({ allowHttp: true, resolve });
    const listed = new StoreEndpointPolicy({
      allowHttp: true,
      allowedNetworks: ['store.example.org'],
      resolve,
    });
    const location = locationAt(`store.example.org:${fake.port}`);

    // Act
    const refused = await failure(new MultipartStoreClient(3000, strict).initiate(location, access));
    const requestsWhenRefused = fake.received.length;
    const uploadId = await new MultipartStoreClient(3000, listed).initiate(location, access);

    // Assess
    expect(refused).toBeInstanceOf(StoreEndpointRefusedError);
    expect(refused).toMatchObject({ code: 'endpoint_not_allowed', status: 400, field: 'endpoint' });
    expect(refused.message).toMatch(/resolves to a loopback address/);
    expect(refused.message).not.toContain('127.0.0.1');
    expect(requestsWhenRefused).toBe(0);
    // The same name, allow-listed, reaches the fake: the lookup is what connects.
    expect(uploadId).toBe('upload-1');
    expect(fake.received).toHaveLength(1);
  });

  it('refuses every client the broker calls stores with: MinIO admin API and bucket probe too', async () => {
    // Prepare
    const fake = await store(() => ({ status: 200, body: '{}' }));
    const strict = new StoreEndpointPolicy({
      allowHttp: true,
      resolve: resolverOf({ 'minio.example.org': '10.0.0.5' }),
    });
    const endpoint = `http://minio.example.org:${fake.port}`;

    // Act
    const admin = await failure(
      new MinioAdminClient(
        { endpoint, accessKey: 'admin', secretKey: 'admin-secret' },
        strict,
      ).listServiceAccounts('u'),
    );
    const probe = await failure(
      probeStoreBucket(
        { endpoint: new URL(endpoint), bucket: 'data-bucket', region: 'us-east-1', pathStyle: true },
        { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' },
        { policy: strict, timeoutMs: 5000 },
      ),
    );
    const literal = await failure(
      new MinioAdminClient(
        { endpoint: fake.url, accessKey: 'admin', secretKey: 'admin-secret' },
        strict,
      ).listServiceAccounts('u'),
    );

    // Assess
    for (const refused of [admin, probe, literal]) {
      expect(refused).toBeInstanceOf(StoreEndpointRefusedError);
    }
    expect(admin.message).toMatch(/private \(RFC 1918\)/);
    expect(literal.message).toMatch(/loopback/);
    expect(fake.received).toEqual([]);
  });

  it('refuses localhost through the real resolver when loopback is not allowed', async () => {
    // Prepare: the production default, with http allowed so only the address decides.
    const policy = new StoreEndpointPolicy({ allowHttp: true });

    // Act: the connect-time lookup, through the system resolver (/etc/hosts: loopback).
    const resolved = await new Promise<Error | null>((done) =>
      policy.lookup('localhost', { all: true }, (error) => done(error)),
    );
    const fake = await store(() => ({ status: 200 }));
    const client = await failure(
      new MultipartStoreClient(3000, policy).abort(locationAt(`localhost:${fake.port}`), access, 'upload-1'),
    );

    // Assess
    expect(resolved).toBeInstanceOf(StoreEndpointRefusedError);
    expect(resolved?.message).toMatch(/loopback/);
    expect(client).toBeInstanceOf(StoreEndpointRefusedError);
    expect(fake.received).toEqual([]);
  });

  it('does not follow a redirect from an allowed store to a private one (multipart calls and probes)', async () => {
    // Prepare: the allowed store (a listed name) answers 307 towards the private one.
    const inside = await store(() => ({ status: 200, body: '{}' }));
    const allowed = await store(() => ({
      status: 307,
      headers: { location: `${inside.url}/data-bucket/big.bin?uploads` },
    }));
    const policy = new StoreEndpointPolicy({
      allowHttp: true,
      allowedNetworks: ['allowed.example.org'],
      resolve: resolverOf({ 'allowed.example.org': '127.0.0.1' }),
    });
    const host = `allowed.example.org:${allowed.port}`;

    // Act
    const multipart = await failure(
      new MultipartStoreClient(3000, policy).initiate(locationAt(host), access),
    );
    const probe = await failure(
      probeStoreBucket(
        { endpoint: new URL(`http://${host}`), bucket: 'data-bucket', region: 'us-east-1', pathStyle: true },
        { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' },
        { policy, timeoutMs: 5000 },
      ),
    );

    // Assess: the allowed store was asked, the private one never.
    expect(multipart).toMatchObject({ code: 'store_unavailable' });
    expect(probe).toMatchObject({ code: expect.stringMatching(/store_unavailable|credentials_rejected/) });
    expect(allowed.received.length).toBeGreaterThanOrEqual(2);
    expect(inside.received).toEqual([]);
  });
});

describe('SSRF: store text never reaches the caller (a loopback fake store)', () => {
  let fake: Awaited<ReturnType<typeof fakeStore>>;
  let reply: () => { status: number; body: string };
  beforeAll(async () => {
    fake = await fakeStore(() => reply());
  });
  afterAll(() => fake.close());

  const client = () =>
    new MultipartStoreClient(
      3000,
      new StoreEndpointPolicy({ allowHttp: true, allowedNetworks: ['127.0.0.1'] }),
    );
  const location = () => locationAt(`127.0.0.1:${fake.port}`);
  /** The wire answer the API would send for an error. */
  const wire = (error: unknown) => errorResponse(error, 'req-ssrf');
  const bel = '\u0007';
  const esc = '\u001b';

  it.each([
    ['2 KB long', 'A'.repeat(2048)],
    ['with spaces and markup', 'ok" onload="x'],
    ['with an escape sequence', `abc${esc}[31mdef`],
    ['a URL', 'https://evil.example.org/x'],
  ])('refuses an UploadId %s: 503 store_unavailable without the text', async (_case, uploadId) => {
    // Prepare
    reply = () => ({
      status: 200,
      body: `<InitiateMultipartUploadResult><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
    });

    // Act
    const refused = await failure(client().initiate(location(), access));
    const answer = wire(refused);

    // Assess
    expect(answer.statusCode).toBe(503);
    expect(answer.code).toBe('store_unavailable');
    expect(answer.body).not.toContain(uploadId.slice(0, 12));
    expect(answer.body).not.toMatch(/\p{Cc}/u);
  });

  it('keeps a 2 KB <Code> with control characters out of a 1 KB answer', async () => {
    // Prepare
    const code = `${esc}]0;pwned${bel}${'NoSuchUpload'.repeat(170)}${esc}[2J`;
    reply = () => ({ status: 500, body: `<Error><Code>${code}</Code><Message>${code}</Message></Error>` });

    // Act
    const refused = await failure(client().abort(location(), access, 'upload-1'));
    const answer = wire(refused);

    // Assess
    expect(Buffer.byteLength(answer.body)).toBeLessThan(1024);
    expect(answer.body).not.toMatch(/\p{Cc}/u);
    expect(answer.body).not.toContain('pwned');
    expect(answer.body).not.toContain('NoSuchUploadNoSuchUpload');
    expect(JSON.parse(answer.body).error).toMatchObject({ code: 'store_unavailable' });
  });

  it.each([
    ['NoSuchUpload', 404, 'upload_id'],
    ['InvalidPart', 400, 'parts'],
    ['InvalidPartOrder', 400, 'parts'],
    ['EntityTooSmall', 400, 'parts'],
  ])(
    'answers a refused complete (%s, HTTP %i) with 400 naming the field in the message and the body',
    async (code, status, field) => {
      // Prepare
      reply = () => ({
        status,
        body: `<Error><Code>${code}</Code><Message>store's own words</Message></Error>`,
      });

      // Act
      const refused = await failure(
        client().complete(location(), access, 'upload-1', [{ part_number: 1, etag: '"a"' }]),
      );
      const body = JSON.parse(wire(refused).body) as {
        error: { code: string; message: string; field?: string };
      };

      // Assess
      expect(body.error).toMatchObject({ code: 'invalid_request', field });
      expect(body.error.message.startsWith(field)).toBe(true);
      expect(body.error.message).not.toContain("store's own words");
    },
  );
});

describe('SSRF: the admin core refuses private endpoints before any request', () => {
  let fake: Awaited<ReturnType<typeof fakeStore>>;
  let dir: string;
  let registry: FileBucketRegistry;
  let secrets: FileSecretResolver;
  beforeAll(async () => {
    fake = await fakeStore(() => ({ status: 200 }));
    dir = mkdtempSync(join(tmpdir(), 'fbb-ssrf-'));
    registry = new FileBucketRegistry(join(dir, 'registry.json'));
    secrets = new FileSecretResolver(join(dir, 'secrets'));
    await mkdir(join(dir, 'secrets', 'gen3/fence/minio'), { recursive: true });
    await writeFile(
      join(dir, 'secrets', 'gen3/fence/minio/inside'),
      JSON.stringify({ access_key_id: 'AKIDEXAMPLE', secret_access_key: 'secret-example' }),
    );
  });
  afterAll(() => fake.close());

  function admin(policy: StoreEndpointPolicy): BucketAdmin {
    return new BucketAdmin({
      registry,
      backends: { k8s: { read: secrets, admin: secrets } },
      roles: { get: () => Promise.reject(new Error('no role-mode bucket here')) },
      secretsPrefix: 'gen3/fence/',
      endpointPolicy: policy,
      audit: () => undefined,
    });
  }
  const context = { requestId: 'req-ssrf', caller: 'arn:aws:iam::123456789012:role/gen3-admin' };
  const registration = (bucket: string, endpoint: string) => ({
    bucket_name: bucket,
    provider: 'minio',
    auth_mode: 'static',
    secrets_backend: 'k8s',
    secret_ref: 'gen3/fence/minio/inside',
    endpoint,
    allowed_ops: ['download'],
  });
  /** The production default, except http: so only the address decides. */
  const strict = new StoreEndpointPolicy({ allowHttp: true });

  it.each([
    ['instance metadata', 'http://169.254.169.254/latest/'],
    ['IPv6 loopback, port 22', 'http://[::1]:22/'],
    ['userinfo', 'http://user:pw@internal.corp:8080/'],
    ['the fake store on loopback', 'FAKE'],
  ])(
    'register refuses %s with 400 endpoint_not_allowed naming endpoint, saving nothing',
    async (_case, endpoint) => {
      // Act
      const refused = await failure(
        admin(strict).register(
          registration('ssrf-register', endpoint === 'FAKE' ? fake.url : endpoint),
          context,
        ),
      );
      const body = JSON.parse(errorResponse(refused, 'r').body) as { error: Record<string, string> };

      // Assess
      expect(refused).toMatchObject({ status: 400 });
      expect(body.error.field).toBe('endpoint');
      expect(['endpoint_not_allowed', 'invalid_request']).toContain(body.error.code);
      expect(await registry.getByName('ssrf-register')).toBeUndefined();
      expect(fake.received).toEqual([]);
    },
  );

  it('patch refuses moving an endpoint to a private address', async () => {
    // Prepare
    const record = await registry.create(
      parseRequest(BucketRegistrationSchema, registration('ssrf-patch', 'https://minio.example.org')),
    );

    // Act
    const refused = await failure(
      admin(strict).patch(
        record.id,
        { revision: record.revision, endpoint: 'https://10.1.2.3:9000' },
        context,
      ),
    );

    // Assess
    expect(refused).toMatchObject({ code: 'endpoint_not_allowed', status: 400, field: 'endpoint' });
    expect((await registry.getById(record.id))?.endpoint).toBe('https://minio.example.org');
  });

  it('validate reports a stored private endpoint as a failed check, and sends no request', async () => {
    // Prepare: a record that got in before the policy (or by another path), pointing at the fake.
    const record = await registry.create(
      parseRequest(BucketRegistrationSchema, registration('ssrf-validate', fake.url)),
    );

    // Act
    const report = await admin(strict).validate(record.id, context);
    const requestsWhenRefused = fake.received.length;
    const allowed = await admin(
      new StoreEndpointPolicy({ allowHttp: true, allowedNetworks: ['127.0.0.0/8'] }),
    ).validate(record.id, context);

    // Assess
    expect(report.ok).toBe(false);
    expect(report.checks.map((check) => [check.name, check.ok])).toEqual([
      ['record', true],
      ['endpoint', false],
    ]);
    expect(report.checks[1]?.message).toMatch(/^endpoint_not_allowed: .*loopback/);
    expect(requestsWhenRefused).toBe(0);
    // Allowed, the same record is proven against the fake: it would have been reached.
    expect(allowed.checks.find((check) => check.name === 'bucket_access')?.ok).toBe(true);
    expect(fake.received.length).toBeGreaterThan(0);
  });
});
