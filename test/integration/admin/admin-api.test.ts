import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import fc from 'fast-check';
import { handleAdminApi } from '../../../functions/admin/admin-api';
import { createAdminHandler } from '../../../functions/admin/admin-handler';
import { adminBed, iamRequestContext, minioBucketWithUser } from '../support/admin-bed';

const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/ops/gen3-admin';
const ADMIN_SESSION = 'arn:aws:sts::123456789012:assumed-role/gen3-admin/alice';
const FENCE_SESSION = 'arn:aws:sts::123456789012:assumed-role/fence-irsa/botocore-session-1';

function event(
  method: string,
  path: string,
  body?: unknown,
  caller = ADMIN_SESSION,
  query?: Record<string, string>,
) {
  return {
    httpMethod: method,
    path,
    body: body === undefined ? null : Buffer.from(JSON.stringify(body)).toString('base64'),
    isBase64Encoded: body !== undefined,
    queryStringParameters: query ?? null,
    requestContext: iamRequestContext(caller),
  } as unknown as APIGatewayProxyEvent;
}

const context = { awsRequestId: 'req-admin-api', functionName: 'admin' } as Context;

describe('Admin API handler (AWS emulators + MinIO)', () => {
  let bed: Awaited<ReturnType<typeof adminBed>>;
  let handler: ReturnType<typeof createAdminHandler>;
  const logged: string[] = [];

  beforeAll(async () => {
    bed = await adminBed();
    // Everything the handler logs, as written (before the Logger takes hold of stdout).
    for (const stream of [process.stdout, process.stderr]) {
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logged.push(String(chunk));
        return true;
      });
    }
    const logger = new Logger({ serviceName: 'admin-test' });
    handler = createAdminHandler({ admin: () => bed.admin, logger, allowedCallers: [ADMIN_ROLE] });
  });

  afterAll(() => jest.restoreAllMocks());

  it('refuses a Fence caller with 403 caller_not_allowed whatever the route, before doing anything', async () => {
    // Act
    const answers = await Promise.all([
      handler(event('GET', '/v1/admin/buckets', undefined, FENCE_SESSION), context),
      handler(event('POST', '/v1/admin/buckets', { bucket_name: 'x' }, FENCE_SESSION), context),
      handler(event('GET', '/v1/admin/buckets', undefined, ''), context),
    ]);

    // Assess
    for (const answer of answers) {
      expect(answer.statusCode).toBe(403);
      expect(JSON.parse(answer.body).error).toMatchObject({
        code: 'caller_not_allowed',
        request_id: 'req-admin-api',
      });
    }
    expect(logged.join('')).toContain('admin caller refused');
    expect(bed.audit.filter((line) => line.caller === FENCE_SESSION)).toEqual([]);
  });

  it('refuses, as caller_not_allowed, an admin caller in an event API Gateway with IAM auth did not shape (a direct invoke)', async () => {
    // Prepare: what a principal with lambda:InvokeFunction can send, naming an admin's ARN.
    const forged = (requestContext: unknown) =>
      ({ ...event('GET', '/v1/admin/buckets'), requestContext }) as unknown as APIGatewayProxyEvent;
    const full = iamRequestContext(ADMIN_SESSION);

    // Act
    const answers = await Promise.all([
      handler(forged({ identity: { userArn: ADMIN_SESSION } }), context),
      handler(forged({ ...full, apiId: undefined }), context),
      handler(forged({ ...full, identity: { ...full.identity, accessKey: null } }), context),
      handler(forged({ http: { method: 'GET' }, authorizer: { iam: { userArn: ADMIN_SESSION } } }), context),
      handler(forged(undefined), context),
      handler(forged(full), context),
    ]);

    // Assess
    expect(answers.map((answer) => answer.statusCode)).toEqual([403, 403, 403, 403, 403, 200]);
    for (const answer of answers.slice(0, 5)) {
      expect(JSON.parse(answer.body).error).toMatchObject({ code: 'caller_not_allowed' });
    }
  });

  it('registers, gets, lists, patches and validates for an admin session of the named role', async () => {
    // Prepare
    const store = await minioBucketWithUser();

    // Act
    const registered = await handler(
      event('POST', '/v1/admin/buckets', {
        bucket_name: store.bucket,
        provider: 'minio',
        auth_mode: 'static',
        endpoint: store.endpoint,
        allowed_ops: ['download'],
        create_secret: true,
        secret: { access_key_id: store.accessKey, secret_access_key: store.secretKey },
      }),
      context,
    );
    const record = JSON.parse(registered.body);
    const got = await handler(event('GET', `/v1/admin/buckets/${record.id}`), context);
    const listed = await handler(
      event('GET', '/v1/admin/buckets', undefined, ADMIN_SESSION, { provider: 'minio' }),
      context,
    );
    const patched = await handler(
      event('PATCH', `/v1/admin/buckets/${store.bucket}`, { revision: 1, status: 'suspended' }),
      context,
    );
    const stale = await handler(
      event('PATCH', `/v1/admin/buckets/${store.bucket}`, { revision: 1, status: 'active' }),
      context,
    );
    const validated = await handler(event('POST', `/v1/admin/buckets/${record.id}/validate`), context);

    // Assess
    expect(registered.statusCode).toBe(201);
    expect(record).toMatchObject({ bucket_name: store.bucket, revision: 1 });
    expect(JSON.parse(got.body).bucket_name).toBe(store.bucket);
    expect(JSON.parse(listed.body).records.map((entry: { id: string }) => entry.id)).toContain(record.id);
    expect(JSON.parse(patched.body)).toMatchObject({ status: 'suspended', revision: 2 });
    expect(stale.statusCode).toBe(409);
    expect(JSON.parse(stale.body).error.code).toBe('revision_conflict');
    expect(validated.statusCode).toBe(200);
    expect(JSON.parse(validated.body)).toMatchObject({ ok: true });
    expect(
      bed.audit.find((line) => line.action === 'register' && line.bucket === store.bucket),
    ).toMatchObject({
      caller: ADMIN_SESSION,
      outcome: 'ok',
    });
    // The keys appear in no answer and no log line.
    for (const text of [registered, got, listed, patched, validated]
      .map((answer) => answer.body)
      .concat(logged)) {
      expect(text).not.toContain(store.secretKey);
    }
  }, 60_000);

  it.each([
    ['aws_sm', 'gen3/fence/x/../admin/minio/m'],
    ['k8s', 'gen3/fence/x/../admin/minio/m'],
    ['k8s', 'gen3/fence/./admin/minio/m'],
    ['vault', 'secret/gen3/fence/x/../admin/minio/m'],
    ['aws_sm', 'gen3/fence//admin/minio/m'],
  ])(
    'refuses a %s secret_ref %s with 400 invalid_request naming secret_ref, saving nothing',
    async (backend, ref) => {
      // Act
      const answer = await handler(
        event('POST', '/v1/admin/buckets', {
          bucket_name: 'dot-segments',
          provider: 'minio',
          auth_mode: 'static',
          secrets_backend: backend,
          secret_ref: ref,
          endpoint: 'https://minio.example.org',
          allowed_ops: ['download'],
        }),
        context,
      );

      // Assess
      expect(answer.statusCode).toBe(400);
      const { error } = JSON.parse(answer.body);
      expect(error.code).toBe('invalid_request');
      expect(error.message).toContain('secret_ref');
      expect(await bed.registry.getByName('dot-segments')).toBeUndefined();
    },
  );

  it('answers 404 for unknown routes and buckets, 405 with Allow for a wrong method', async () => {
    const unknownRoute = await handler(event('GET', '/v1/admin/things'), context);
    const unknownBucket = await handler(event('GET', '/v1/admin/buckets/no-such-bucket'), context);
    const wrongMethod = await handler(event('DELETE', '/v1/admin/buckets/some-bucket'), context);
    expect([unknownRoute.statusCode, JSON.parse(unknownRoute.body).error.code]).toEqual([
      404,
      'unknown_route',
    ]);
    expect([unknownBucket.statusCode, JSON.parse(unknownBucket.body).error.code]).toEqual([
      404,
      'unknown_bucket',
    ]);
    expect([wrongMethod.statusCode, wrongMethod.headers?.allow]).toEqual([405, 'GET, PATCH']);
  });

  it('answers any register or patch body with a 4xx and a stable code, never a 5xx (fuzzed)', async () => {
    const bodies = fc.oneof(
      fc.anything(),
      fc.record(
        {
          bucket_name: fc.string(),
          provider: fc.constantFrom('aws', 'minio', 'gcp', 'bogus'),
          auth_mode: fc.constantFrom('static', 'role', 'workload_identity', 7),
          secret_ref: fc.option(fc.string()),
          create_secret: fc.boolean(),
          secret: fc.dictionary(fc.string(), fc.string()),
          allowed_ops: fc.array(fc.string()),
          revision: fc.integer(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.constantFrom('POST', 'PATCH'), async (body, method) => {
        const path = method === 'POST' ? '/v1/admin/buckets' : '/v1/admin/buckets/fuzz-bucket';
        const answer = await handleAdminApi(event(method, path, body), 'fuzz', {
          admin: bed.admin,
          allowedCallers: [ADMIN_ROLE],
        });
        expect(answer.statusCode).toBeGreaterThanOrEqual(400);
        expect(answer.statusCode).toBeLessThan(500);
        expect(typeof JSON.parse(answer.body).error.code).toBe('string');
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});

describe('Handler: admin Lambda entry (middy, Powertools)', () => {
  it('reads its environment at module load and answers an admin session, refusing a Fence one', async () => {
    // Prepare
    const bed = await adminBed();
    process.env.REGISTRY_TABLE_NAME = bed.tableName;
    process.env.ADMIN_PRINCIPAL_ARNS = ADMIN_ROLE;
    const { handler } = await import('../../../functions/admin/handler');

    // Act
    const listed = await handler(event('GET', '/v1/admin/buckets'), context);
    const refused = await handler(event('GET', '/v1/admin/buckets', undefined, FENCE_SESSION), context);

    // Assess
    expect(listed.statusCode).toBe(200);
    expect(JSON.parse(listed.body)).toEqual({ records: [] });
    expect(refused.statusCode).toBe(403);
  });
});
