import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ADMIN_ROUTES } from '../../../functions/admin/admin-api';
import { PRESIGN_ROUTES } from '../../../functions/presign/presign-api';
import {
  type EmulatedApiGateway,
  type Invocation,
  startApiGateway,
} from '../../deployed/support/api-gateway';
import {
  ALL_FEATURES_CONTEXT,
  type DeployedTemplate,
  synthesizeDeployment,
} from '../../deployed/support/deployed-template';

const run = promisify(execFile);
const FENCE = {
  accessKeyId: 'AKIAFENCE0000000000',
  secretAccessKey: 'fence-secret',
  arn: 'arn:aws:sts::123456789012:assumed-role/fence-irsa/botocore-session-1',
};
const ADMIN = {
  accessKeyId: 'AKIAADMIN0000000000',
  secretAccessKey: 'admin-secret',
  arn: 'arn:aws:sts::123456789012:assumed-role/broker-admin/operator',
};
const STRANGER = {
  accessKeyId: 'AKIASTRANGER0000000',
  secretAccessKey: 'stranger-secret',
  arn: 'arn:aws:iam::123456789012:role/someone-else',
};
const CALLERS = Object.fromEntries(
  [FENCE, ADMIN, STRANGER].map(({ accessKeyId, ...caller }) => [accessKeyId, caller]),
);

/** A request signed as botocore's SigV4Auth signs for the Python client: execute-api, the region, the body's hash. */
async function signedFetch(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> },
  as: { accessKeyId: string; secretAccessKey: string },
  region = 'us-east-1',
): Promise<Response> {
  const target = new URL(url);
  const method = init.method ?? 'POST';
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials: as,
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign({
    method,
    protocol: target.protocol,
    hostname: target.hostname,
    port: Number(target.port),
    path: target.pathname,
    query: Object.fromEntries(target.searchParams),
    headers: { host: target.host, 'content-type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return fetch(url, {
    method,
    headers: signed.headers as Record<string, string>,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

describe('Emulator: API Gateway from the synthesized template', () => {
  let deployed: DeployedTemplate;
  let gateway: EmulatedApiGateway;
  const events: { functionLogicalId: string; event: APIGatewayProxyEvent }[] = [];
  let answer: (functionLogicalId: string) => Invocation = () => ({
    payload: { statusCode: 200, body: '{"ok":true}' },
  });

  beforeAll(async () => {
    deployed = synthesizeDeployment({ ...ALL_FEATURES_CONTEXT });
    gateway = await startApiGateway({
      template: deployed,
      callers: CALLERS,
      invoke: async (functionLogicalId, event) => {
        events.push({ functionLogicalId, event });
        return answer(functionLogicalId);
      },
    });
  }, 60_000);
  afterAll(() => gateway?.close());
  beforeEach(() => {
    events.length = 0;
    answer = () => ({ payload: { statusCode: 200, body: '{"ok":true}' } });
  });

  const presignFunction = () =>
    deployed.functions.find((fn) => fn.logicalId.startsWith('PresignFunction'))?.logicalId;
  const adminFunction = () =>
    deployed.functions.find((fn) => fn.logicalId.startsWith('AdminFunction'))?.logicalId;

  it('reads exactly the presign and admin route tables from the template, on stage prod', () => {
    // Assess
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/prod\/$/);
    const routes = deployed.apiRoutes.map(
      (route) => `${route.httpMethod} ${route.resourcePath} ${route.authorizationType}`,
    );
    expect(routes.sort()).toEqual(
      [
        ...PRESIGN_ROUTES.map((route) => `POST /v1/buckets/{bucket}/${route} AWS_IAM`),
        ...ADMIN_ROUTES.map((route) => `${route.method} /v1/admin/${route.path} AWS_IAM`),
      ].sort(),
    );
  });

  it.each(PRESIGN_ROUTES)(
    'brings Fence’s signed POST …/%s to the presign function, with the v1 proxy event',
    async (route) => {
      // Act
      const response = await signedFetch(
        `${gateway.url}v1/buckets/my-data/${route}`,
        { body: '{"key":"a"}' },
        FENCE,
      );

      // Assess
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
      expect(events).toHaveLength(1);
      const [{ functionLogicalId, event } = events[0] as never] = events;
      expect(functionLogicalId).toBe(presignFunction());
      expect(event).toMatchObject({
        resource: `/v1/buckets/{bucket}/${route}`,
        path: `/v1/buckets/my-data/${route}`,
        httpMethod: 'POST',
        pathParameters: { bucket: 'my-data' },
        queryStringParameters: null,
        stageVariables: null,
        isBase64Encoded: true,
        requestContext: {
          accountId: '123456789012',
          apiId: gateway.apiId,
          stage: 'prod',
          path: `/prod/v1/buckets/my-data/${route}`,
          resourcePath: `/v1/buckets/{bucket}/${route}`,
          httpMethod: 'POST',
          identity: { userArn: FENCE.arn, accessKey: FENCE.accessKeyId, accountId: '123456789012' },
        },
      });
      expect(Buffer.from(String(event.body), 'base64').toString()).toBe('{"key":"a"}');
      expect(event.requestContext.identity.caller).toMatch(/^AROA[0-9A-F]{17}:botocore-session-1$/);
      expect(event.headers['content-type']).toBe('application/json');
    },
  );

  it.each(ADMIN_ROUTES.map((route) => [route.method, route.path] as const))(
    'brings the admin role’s %s /v1/admin/%s to the admin function, {id} mapped',
    async (method, path) => {
      // Act
      const response = await signedFetch(
        `${gateway.url}v1/admin/${path.replace('{id}', 'bucket-7')}?status=active`,
        method === 'GET' ? { method } : { method, body: '{}' },
        ADMIN,
      );

      // Assess
      expect(response.status).toBe(200);
      const [{ functionLogicalId, event } = events[0] as never] = events;
      expect(functionLogicalId).toBe(adminFunction());
      expect(event.pathParameters).toEqual(path.includes('{id}') ? { id: 'bucket-7' } : null);
      expect(event.queryStringParameters).toEqual({ status: 'active' });
      expect(event.multiValueQueryStringParameters).toEqual({ status: ['active'] });
    },
  );

  it('denies Fence the admin routes and everyone else the presign routes (the explicit Deny), invoking nothing', async () => {
    // Act
    const fenceOnAdmin = await signedFetch(`${gateway.url}v1/admin/buckets`, { method: 'GET' }, FENCE);
    const strangerOnPresign = await signedFetch(
      `${gateway.url}v1/buckets/b/presign`,
      { body: '{}' },
      STRANGER,
    );
    const adminOnPresign = await signedFetch(`${gateway.url}v1/buckets/b/presign`, { body: '{}' }, ADMIN);

    // Assess
    for (const response of [fenceOnAdmin, strangerOnPresign, adminOnPresign]) {
      expect(response.status).toBe(403);
      expect(response.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
      expect(((await response.json()) as { Message: string }).Message).toMatch(
        /is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:123456789012:\w+\/prod\/(GET|POST)\/v1\/.* with an explicit deny$/,
      );
    }
    expect(events).toEqual([]);
  });

  it('refuses an unknown key, a wrong secret, another region, a tampered body and no signature with 403', async () => {
    // Arrange
    const url = `${gateway.url}v1/buckets/b/presign`;
    const tampered = await (async () => {
      const signer = new SignatureV4({
        service: 'execute-api',
        region: 'us-east-1',
        credentials: FENCE,
        sha256: Sha256,
        applyChecksum: false,
      });
      const target = new URL(url);
      const signed = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: target.hostname,
        path: target.pathname,
        headers: { host: target.host },
        body: '{"key":"a"}',
      });
      return fetch(url, {
        method: 'POST',
        headers: signed.headers as Record<string, string>,
        body: '{"key":"b"}',
      });
    })();

    // Act
    const answers = [
      [
        await signedFetch(url, { body: '{}' }, { accessKeyId: 'AKIAUNKNOWN00000000', secretAccessKey: 'x' }),
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      ],
      [
        await signedFetch(url, { body: '{}' }, { ...FENCE, secretAccessKey: 'wrong' }),
        'InvalidSignatureException',
        'The request signature we calculated does not match',
      ],
      [
        await signedFetch(url, { body: '{}' }, FENCE, 'eu-west-1'),
        'InvalidSignatureException',
        'Credential should be scoped to a valid region',
      ],
      [tampered, 'InvalidSignatureException', 'The request signature we calculated does not match'],
      [
        await fetch(url, { method: 'POST', body: '{}' }),
        'MissingAuthenticationTokenException',
        'Missing Authentication Token',
      ],
    ] as const;

    // Assess
    for (const [response, errorType, message] of answers) {
      expect(response.status).toBe(403);
      expect(response.headers.get('x-amzn-errortype')).toBe(errorType);
      expect(((await response.json()) as { message: string }).message).toContain(message);
    }
    expect(events).toEqual([]);
  });

  it('answers an unknown path or method with API Gateway’s 403 Missing Authentication Token, signed or not', async () => {
    // Act
    const answers = [
      await signedFetch(`${gateway.url}v1/buckets/b/unknown`, { body: '{}' }, FENCE),
      await signedFetch(`${gateway.url}v1/buckets/b/presign`, { method: 'GET' }, FENCE),
      await signedFetch(`${gateway.url}v1/buckets/b`, { body: '{}' }, FENCE),
      await fetch(`${gateway.url}v2/anything`),
    ];

    // Assess
    for (const response of answers) {
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
    }
    expect(events).toEqual([]);
  });

  it('answers 502 Internal server error for a function error or a malformed proxy result', async () => {
    // Arrange
    const url = `${gateway.url}v1/buckets/b/presign`;

    // Act
    answer = () => ({ payload: { errorMessage: 'boom' }, functionError: 'Unhandled' });
    const failed = await signedFetch(url, { body: '{}' }, FENCE);
    answer = () => ({ payload: { body: 'no status code' } });
    const malformed = await signedFetch(url, { body: '{}' }, FENCE);

    // Assess
    for (const response of [failed, malformed]) {
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({ message: 'Internal server error' });
    }
  });

  it('maps the proxy result back: status, headers, multi-value headers and a base64 body', async () => {
    // Act
    answer = () => ({
      payload: {
        statusCode: 201,
        headers: { 'content-type': 'text/plain' },
        multiValueHeaders: { 'x-many': ['a', 'b'] },
        body: Buffer.from('bytes').toString('base64'),
        isBase64Encoded: true,
      },
    });
    const response = await signedFetch(`${gateway.url}v1/buckets/b/presign`, { body: '{}' }, FENCE);

    // Assess
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('x-many')).toBe('a, b');
    expect(await response.text()).toBe('bytes');
  });

  describe('with the synthesized presign bundle behind it', () => {
    let dynamodb: Server;
    const dynamodbCalls: { target: string | undefined; body: { TableName?: string } }[] = [];

    beforeAll(async () => {
      // DynamoDB's answer to GetItem of a key the table does not hold: an empty object.
      dynamodb = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          dynamodbCalls.push({
            target: request.headers['x-amz-target'] as string,
            body: JSON.parse(Buffer.concat(chunks).toString() || '{}'),
          });
          response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          response.end('{}');
        });
      });
      await new Promise<void>((resolve) => dynamodb.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => dynamodb.close(() => resolve())));

    it('answers an unknown bucket with the broker’s 404 unknown_bucket, the registry read from the template’s table', async () => {
      // Arrange: the bundle runs in a Node.js process of its own with the template's environment.
      const physical = (logicalId: string, attribute?: string) =>
        attribute === undefined ? `physical-${logicalId}` : `${logicalId}.${attribute}`;
      const invokeBundle = async (
        functionLogicalId: string,
        event: APIGatewayProxyEvent,
      ): Promise<Invocation> => {
        const fn = deployed.function(functionLogicalId);
        const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(join(fn.assetDir, 'index.mjs')).href)});
const context = { awsRequestId: 'r-1', functionName: ${JSON.stringify(functionLogicalId)}, functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f', memoryLimitInMB: '${fn.memorySize}', logGroupName: 'g', logStreamName: 's', getRemainingTimeInMillis: () => ${fn.timeout * 1000}, callbackWaitsForEmptyEventLoop: true };
process.stdout.write('\\n@@' + JSON.stringify(await handler(JSON.parse(process.env.EVENT), context)));
process.exit(0);`;
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
          env: {
            ...deployed.resolveEnvironment(functionLogicalId, physical),
            PATH: process.env.PATH,
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'AKIALAMBDA000000000',
            AWS_SECRET_ACCESS_KEY: 'lambda-secret',
            AWS_SESSION_TOKEN: 'lambda-token',
            AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${(dynamodb.address() as AddressInfo).port}`,
            EVENT: JSON.stringify(event),
          },
        });
        return { payload: JSON.parse(stdout.slice(stdout.lastIndexOf('\n@@') + 3)) };
      };
      const bundled = await startApiGateway({ template: deployed, callers: CALLERS, invoke: invokeBundle });

      try {
        // Act
        const response = await signedFetch(
          `${bundled.url}v1/buckets/no-such-bucket/presign`,
          { body: '{"key":"a.txt","method":"GET"}' },
          FENCE,
        );

        // Assess
        expect(response.status).toBe(404);
        expect(((await response.json()) as { error: unknown }).error).toMatchObject({
          code: 'unknown_bucket',
        });
        const registryTable = deployed.resolveEnvironment(
          presignFunction() as string,
          physical,
        ).REGISTRY_TABLE_NAME;
        expect(registryTable).toMatch(/^physical-RegistryTable/);
        expect(dynamodbCalls).toContainEqual({
          target: 'DynamoDB_20120810.GetItem',
          body: expect.objectContaining({ TableName: registryTable }),
        });
      } finally {
        await bundled.close();
      }
    }, 30_000);
  });
});
