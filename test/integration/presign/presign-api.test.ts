import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import fc from 'fast-check';
import {
  handlePresignApi,
  PRESIGN_ROUTES,
  type PresignAuditLine,
} from '../../../functions/presign/presign-api';
import { secretsManager } from '../support/aws';
import { presignBed } from '../support/presign-bed';

const DESIGN_CODES = new Set([
  'invalid_request',
  'operation_not_allowed',
  'unknown_bucket',
  'bucket_suspended',
]);

function event(path: string, body: unknown, httpMethod = 'POST'): APIGatewayProxyEvent {
  return {
    httpMethod,
    path,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/fence/pod' } },
  } as unknown as APIGatewayProxyEvent;
}

describe('Function: handlePresignApi (MinIO + AWS emulators)', () => {
  let bed: Awaited<ReturnType<typeof presignBed>>;
  const lines: PresignAuditLine[] = [];
  const call = (path: string, body: unknown, method?: string) =>
    handlePresignApi(
      event(path, body, method),
      { requestId: 'req-api' },
      {
        service: bed.service,
        record: (line) => lines.push(line),
      },
    );

  beforeAll(async () => {
    bed = await presignBed();
  });

  it('answers a presign with a working URL and writes one audit line without secrets', async () => {
    // Act
    const answer = await call(`/v1/buckets/${bed.bucketName}/presign`, {
      key: 'api/object.txt',
      method: 'PUT',
      content_type: 'text/plain',
      audit: { username: 'alice' },
      purpose: 'upload',
    });
    const body = JSON.parse(answer.body);
    const uploaded = await fetch(body.url, { method: 'PUT', body: 'hello', headers: body.headers });

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(uploaded.status).toBe(200);
    expect(body.headers).toEqual({ 'content-type': 'text/plain' });
    const line = lines.at(-1);
    expect(line).toMatchObject({
      bucket: bed.bucketName,
      operation: 'PUT',
      caller: 'arn:aws:sts::123456789012:assumed-role/fence/pod',
      audit_user: 'alice',
      purpose: 'upload',
      secret_ref: `gen3/fence/minio/${bed.bucketName}`,
      outcome: 'ok',
    });
    // Canary: the secret key (MinIO's root password here) never reaches a log line or a body.
    const secret = bed.endpoints.minio.rootPassword;
    expect(JSON.stringify(lines)).not.toContain(secret);
    expect(answer.body).not.toContain(secret);
    expect(JSON.stringify(lines)).not.toContain(new URL(body.url).searchParams.get('X-Amz-Signature'));
  });

  it('keeps canary secret values out of error answers and audit lines', async () => {
    // Prepare: a bucket whose secret breaks the shape, with a canary where a key should be.
    const canary = `canary-${crypto.randomUUID()}`;
    const ref = `gen3/fence/minio/${bed.bucketName}-broken`;
    await secretsManager().send(
      new CreateSecretCommand({
        Name: ref,
        SecretString: JSON.stringify({ access_key_id: '', secret_access_key: canary }),
      }),
    );
    const { id: _id, created_at: _c, updated_at: _u, revision: _r, ...registration } = bed.record;
    await bed.registry.create({ ...registration, bucket_name: `${bed.bucketName}-broken`, secret_ref: ref });
    const before = lines.length;

    // Act
    const answer = await call(`/v1/buckets/${bed.bucketName}-broken/presign`, { key: 'k', method: 'GET' });

    // Assess
    expect(answer.statusCode).toBe(502);
    expect(JSON.parse(answer.body).error.code).toBe('bucket_misconfigured');
    expect(JSON.parse(answer.body).error.message).toContain('field "access_key_id"');
    expect(answer.body).not.toContain(canary);
    expect(JSON.stringify(lines.slice(before))).not.toContain(canary);
    expect(lines.at(-1)).toMatchObject({ outcome: 'bucket_misconfigured', secret_ref: ref });
  });

  it('answers a batch of 1,000 in order, each item a URL or its own error', async () => {
    // Prepare
    const items = Array.from({ length: 1000 }, (_, index) => ({
      key: `batch/${index}`,
      method: index === 7 ? 'PUT' : 'GET',
    }));

    // Act
    const answer = await call(`/v1/buckets/${bed.bucketName}/presign-batch`, { items });
    const { results } = JSON.parse(answer.body);

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(results).toHaveLength(1000);
    expect(results[3].url).toContain('/batch/3?');
    expect(results[7].url).toContain('/batch/7?');
  });

  it('answers an invalid batch item with an error in its place and signs the others', async () => {
    // Prepare
    const items = [
      { key: 'batch/ok-1', method: 'GET' },
      { key: 5, method: 'GET' },
      { method: 'GET' },
      'not an object',
      { key: 'batch/ok-2', method: 'GET', unknown: true },
      { key: 'batch/ok-3', method: 'HEAD', expires_in: '60' },
      { key: 'batch/ok-4', method: 'PUT' },
    ];

    // Act
    const answer = await call(`/v1/buckets/${bed.bucketName}/presign-batch`, { items });
    const { results } = JSON.parse(answer.body);

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(results).toHaveLength(7);
    expect(results[0].url).toContain('/batch/ok-1?');
    expect(results[6].url).toContain('/batch/ok-4?');
    const errors = results.slice(1, 6).map((result: { error: unknown }) => result.error);
    expect(errors).toEqual([
      { code: 'invalid_request', message: 'key must be a string, not an integer' },
      { code: 'invalid_request', message: 'key is required' },
      { code: 'invalid_request', message: 'item must be an object, not a string' },
      { code: 'invalid_request', message: 'item has an unknown field: "unknown"' },
      { code: 'invalid_request', message: 'expires_in must be an integer, not a string' },
    ]);
  });

  it.each([
    ['a body that is not an object', []],
    ['no items', {}],
    ['items that are not an array', { items: { key: 'k', method: 'GET' } }],
    ['an empty batch', { items: [] }],
    ['1,001 items', { items: Array.from({ length: 1001 }, () => ({ key: 'k', method: 'GET' })) }],
    ['an unknown top-level field', { items: [{ key: 'k', method: 'GET' }], dry_run: true }],
  ])('fails the whole batch with 400 for %s', async (_case, body) => {
    const answer = await call(`/v1/buckets/${bed.bucketName}/presign-batch`, body);
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body).error.code).toBe('invalid_request');
  });

  it.each([
    ['malformed JSON', '/v1/buckets/b-x1/presign', '{not json', 'POST', 400, 'invalid_request'],
    [
      'a bad bucket name',
      '/v1/buckets/UPPER/presign',
      { key: 'k', method: 'GET' },
      'POST',
      400,
      'invalid_request',
    ],
    ['an unknown route', '/v1/buckets/b-x1/other', {}, 'POST', 404, 'unknown_route'],
    ['a path outside the API', '/v2/anything', {}, 'GET', 404, 'unknown_route'],
    ['a GET', '/v1/buckets/b-x1/presign', {}, 'GET', 405, 'method_not_allowed'],
    [
      'an unknown bucket',
      '/v1/buckets/never-registered/presign',
      { key: 'k', method: 'GET' },
      'POST',
      404,
      'unknown_bucket',
    ],
  ])('refuses %s with a stable 4xx code', async (_case, path, body, method, status, code) => {
    const answer = await call(path, body, method);
    expect(answer.statusCode).toBe(status);
    // A 4xx caused by one field names it in the body too (the bucket name, here in the path).
    const field = path.includes('UPPER') ? { field: 'bucket' } : {};
    expect(JSON.parse(answer.body)).toEqual({
      error: { code, message: expect.any(String), request_id: 'req-api', ...field },
    });
  });

  it('answers a wrong method with 405 and an Allow header, and names the bucket in bucket-name errors', async () => {
    // Act
    const wrongMethod = await call(`/v1/buckets/${bed.bucketName}/multipart/parts`, {}, 'PUT');
    const badBucket = await call('/v1/buckets/UPPER/presign', { key: 'k', method: 'GET' });

    // Assess
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers?.allow).toBe('POST');
    expect(JSON.parse(wrongMethod.body).error.message).toBe('multipart/parts accepts POST only');
    expect(JSON.parse(badBucket.body).error.message).toMatch(/^bucket must be lowercase letters/);
  });

  it('says a value of the wrong type is of the wrong type, and caps a list of unknown fields', async () => {
    // Prepare
    const flood: Record<string, unknown> = { key: 'k', method: 'GET' };
    for (let index = 0; index < 100_000; index++) flood[`unknown_field_${index}`] = index;

    // Act
    const wrongType = await call(`/v1/buckets/${bed.bucketName}/presign`, {
      key: 'k',
      method: 'GET',
      expires_in: '3600',
    });
    const flooded = await call(`/v1/buckets/${bed.bucketName}/presign`, flood);

    // Assess
    expect(JSON.parse(wrongType.body).error.message).toBe('expires_in must be an integer, not a string');
    expect(flooded.statusCode).toBe(400);
    expect(Buffer.byteLength(flooded.body)).toBeLessThan(1024);
    expect(JSON.parse(flooded.body).error.message).toMatch(/and 99,995 more$/);
  });

  it('names the offending field of a schema violation', async () => {
    const answer = await call(`/v1/buckets/${bed.bucketName}/presign`, {
      key: 'k',
      method: 'GET',
      expires_in: 0,
    });
    expect(JSON.parse(answer.body).error.message).toMatch(/^expires_in /);
  });

  it.each(PRESIGN_ROUTES)(
    'answers arbitrary bytes on %s, as API Gateway passes them (base64), with 2xx or 400, never a 5xx',
    async (route) => {
      // Prepare: raw bytes, and JSON bodies with invalid UTF-8 spliced into a string.
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc
          .tuple(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.constantFrom('GET', 'PUT'))
          .map(([junk, method]) =>
            Buffer.concat([
              Buffer.from('{"key":"k'),
              Buffer.from(junk),
              Buffer.from(`","method":"${method}"}`),
            ]),
          ),
      );

      // Act + Assess
      await fc.assert(
        fc.asyncProperty(bytes, async (body) => {
          const answer = await handlePresignApi(
            {
              ...event(`/v1/buckets/${bed.bucketName}/${route}`, ''),
              body: Buffer.from(body).toString('base64'),
              isBase64Encoded: true,
            },
            { requestId: 'req-bytes' },
            { service: bed.service, record: () => undefined },
          );
          if (answer.statusCode >= 300) {
            expect(answer.statusCode).toBe(400);
            expect(JSON.parse(answer.body).error.code).toBe('invalid_request');
          }
        }),
        { numRuns: 300 },
      );
    },
    60_000,
  );

  it.each(PRESIGN_ROUTES)(
    'answers fuzzed bodies on %s with 2xx or a DESIGN.md 4xx, never a 5xx (1,000 cases)',
    async (route) => {
      const anyJson = fc.oneof(
        fc.jsonValue(),
        fc.record(
          {
            key: fc.oneof(fc.string(), fc.constant('ok/key'), fc.integer()),
            method: fc.oneof(fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE'), fc.string()),
            expires_in: fc.oneof(fc.integer({ min: -5, max: 700_000 }), fc.double(), fc.string()),
            content_type: fc.oneof(fc.constantFrom('text/plain', 'bad type'), fc.string()),
            upload_id: fc.oneof(fc.string(), fc.constant('id')),
            part_numbers: fc.array(fc.integer({ min: -1, max: 10_001 }), { maxLength: 5 }),
            parts: fc.array(fc.record({ part_number: fc.integer(), etag: fc.string() }), { maxLength: 3 }),
            items: fc.array(fc.record({ key: fc.string(), method: fc.constantFrom('GET', 'PUT', 'POST') }), {
              maxLength: 3,
            }),
            audit: fc.dictionary(fc.string(), fc.string()),
          },
          { requiredKeys: [] },
        ),
      );
      await fc.assert(
        fc.asyncProperty(anyJson, async (body) => {
          const answer = await call(`/v1/buckets/${bed.bucketName}/${route}`, body);
          if (answer.statusCode >= 300) {
            expect(answer.statusCode).toBeLessThan(500);
            expect(DESIGN_CODES.has(JSON.parse(answer.body).error.code)).toBe(true);
          }
        }),
        { numRuns: 1000 },
      );
    },
    120_000,
  );
});

describe('Handler: presign Lambda entry (middy, Powertools)', () => {
  it('runs the middy chain at module load with its environment and answers an API Gateway event', async () => {
    // Prepare
    const bed = await presignBed();
    process.env.REGISTRY_TABLE_NAME = bed.tableName;
    process.env.POWERTOOLS_METRICS_NAMESPACE = 'FenceBucketBrokerTest';
    const output: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      output.push(String(chunk));
      return true;
    });
    const { handler } = await import('../../../functions/presign/handler');

    // Act
    const answer = await handler(
      event(`/v1/buckets/${bed.bucketName}/presign`, { key: 'h.txt', method: 'GET' }),
      {
        awsRequestId: 'req-handler',
        functionName: 'presign',
      } as Context,
    );
    spy.mockRestore();

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body).url).toContain('/h.txt?');
    expect(output.join('')).not.toContain(bed.endpoints.minio.rootPassword);
  });
});
