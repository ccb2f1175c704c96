import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { PRESIGN_FUNCTION_TIMEOUT_SECONDS } from '../../../functions/presign/budgets';
import { PresignEnvironmentSchema } from '../../../functions/presign/environment';
import { createPresignHandler } from '../../../functions/presign/presign-handler';
import { wirePresignService } from '../../../functions/presign/presign-wiring';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { ExchangeTimeoutError, exchange } from '../../../functions/shared/http/http-exchange';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { roleRegistration } from '../../fixtures/bucket-records';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { HungServer } from '../support/hung-server';
import { presignBed } from '../support/presign-bed';

const TIMEOUT_MS = PRESIGN_FUNCTION_TIMEOUT_SECONDS * 1000;

/** Sets `variables` in process.env while `run` runs (the AWS clients read them when built). */
async function withEnv<T>(variables: Record<string, string>, run: () => Promise<T> | T): Promise<T> {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    return await run();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** The presign Lambda's own chain and wiring (budgets included) over the registry `tableName`. */
function lambdaEntry(tableName: string) {
  return createPresignHandler({
    wiring: wirePresignService(
      readEnvironment(PresignEnvironmentSchema, {
        REGISTRY_TABLE_NAME: tableName,
        FENCE_SECRETS_BACKEND: 'aws_sm',
      }),
    ),
    logger: async () => new Logger({ serviceName: 'deadline-test', logLevel: 'SILENT' }),
    metrics: async () => new Metrics({ namespace: 'DeadlineTest', serviceName: 'deadline-test' }),
    auditSampleRate: 1,
    metricsIntervalMs: 3_600_000,
  });
}

/**
 * Invokes `handler` as Lambda would, with `timeoutMs` to run, and races it against that timeout:
 * the answer must come from the handler, not from the function being cut off.
 */
async function invokeWithin(
  handler: ReturnType<typeof lambdaEntry>,
  path: string,
  body: unknown,
  timeoutMs = TIMEOUT_MS,
): Promise<APIGatewayProxyResult | 'function timed out'> {
  const started = Date.now();
  const context = {
    awsRequestId: `req-${crypto.randomUUID()}`,
    functionName: 'presign',
    getRemainingTimeInMillis: () => started + timeoutMs - Date.now(),
  } as unknown as Context;
  const event = {
    httpMethod: 'POST',
    path,
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/fence/pod' } },
  } as unknown as APIGatewayProxyEvent;
  let timer: NodeJS.Timeout | undefined;
  const cutOff = new Promise<'function timed out'>((resolve) => {
    timer = setTimeout(() => resolve('function timed out'), timeoutMs);
  });
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return await Promise.race([handler(event, context), cutOff]);
  } finally {
    clearTimeout(timer);
    spy.mockRestore();
  }
}

describe('Budgets: a hung backend answers 503 with Retry-After before the function times out', () => {
  let bed: Awaited<ReturnType<typeof presignBed>>;
  let hung: HungServer;

  beforeAll(async () => {
    bed = await presignBed();
  });

  beforeEach(async () => {
    hung = await HungServer.start();
  });

  afterEach(async () => {
    await hung.close();
  });

  it('exchange() gives up at its timeout even while the answer keeps trickling in', async () => {
    // Prepare: a server whose answer never ends but whose socket is never idle.
    const trickling = await HungServer.start({ trickle: true });

    try {
      // Act
      const attempt = exchange(trickling.url, { method: 'GET', headers: {}, body: '', timeoutMs: 300 });

      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ExchangeTimeoutError);
      expect(trickling.connections).toBe(1);
    } finally {
      await trickling.close();
    }
  }, 20_000);

  it('registry (DynamoDB) hung: 503 registry_unavailable with Retry-After', async () => {
    // Prepare
    const handler = await withEnv({ AWS_ENDPOINT_URL_DYNAMODB: hung.url }, () => lambdaEntry(bed.tableName));

    // Act
    const answer = await invokeWithin(handler, `/v1/buckets/${bed.bucketName}/presign`, {
      key: 'k',
      method: 'GET',
    });

    // Assess
    expect(answer).not.toBe('function timed out');
    const result = answer as APIGatewayProxyResult;
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error.code).toBe('registry_unavailable');
    expect(result.headers?.['retry-after']).toBe('2');
    expect(hung.connections).toBeGreaterThan(0);
  }, 30_000);

  it('secrets (Secrets Manager) hung: 503 secret_backend_unavailable with Retry-After', async () => {
    // Prepare
    const handler = await withEnv({ AWS_ENDPOINT_URL_SECRETS_MANAGER: hung.url }, () =>
      lambdaEntry(bed.tableName),
    );

    // Act
    const answer = await invokeWithin(handler, `/v1/buckets/${bed.bucketName}/presign`, {
      key: 'k',
      method: 'GET',
    });

    // Assess
    expect(answer).not.toBe('function timed out');
    const result = answer as APIGatewayProxyResult;
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error).toMatchObject({
      code: 'secret_backend_unavailable',
      message: `Secrets Manager did not answer in time for ${bed.record.secret_ref}`,
    });
    expect(result.headers?.['retry-after']).toBe('5');
    expect(hung.connections).toBeGreaterThan(0);
  }, 30_000);

  it('store hung on a multipart call: 503 store_unavailable with Retry-After', async () => {
    // Prepare: the bucket's record points at the hung server; registry and secrets are real.
    const { id: _id, created_at: _c, updated_at: _u, revision: _r, ...registration } = bed.record;
    const bucket = `${bed.bucketName}-hung-store`;
    await bed.registry.create({ ...registration, bucket_name: bucket, endpoint: hung.url });
    const handler = lambdaEntry(bed.tableName);

    // Act
    const answer = await invokeWithin(handler, `/v1/buckets/${bucket}/multipart`, { key: 'big.bin' });

    // Assess
    expect(answer).not.toBe('function timed out');
    const result = answer as APIGatewayProxyResult;
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error.message).toBe(
      `the store at ${new URL(hung.url).host} did not answer in time`,
    );
    expect(result.headers?.['retry-after']).toBe('2');
    expect(hung.connections).toBe(1);
  }, 30_000);

  it('STS hung (role mode): 503 secret_backend_unavailable with Retry-After', async () => {
    // Prepare
    const registry = new DynamoDbBucketRegistry(await createRegistryTable(dynamoDb()));
    await registry.create(roleRegistration({ bucket_name: 'role-bucket-hung-sts' }));
    const handler = lambdaEntry(registry.tableName);

    // Act: the STS client is built on the first AssumeRole, so the endpoint applies then.
    const answer = await withEnv({ AWS_ENDPOINT_URL_STS: hung.url }, () =>
      invokeWithin(handler, '/v1/buckets/role-bucket-hung-sts/presign', { key: 'k', method: 'GET' }),
    );

    // Assess
    expect(answer).not.toBe('function timed out');
    const result = answer as APIGatewayProxyResult;
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error.code).toBe('secret_backend_unavailable');
    expect(result.headers?.['retry-after']).toBe('5');
    expect(hung.connections).toBeGreaterThan(0);
  }, 30_000);

  it('stops at the deadline when the invocation has less time left than the budget', async () => {
    // Prepare: 1.5 s left, less than the registry's 2 s budget.
    const handler = await withEnv({ AWS_ENDPOINT_URL_DYNAMODB: hung.url }, () => lambdaEntry(bed.tableName));

    // Act
    const answer = await invokeWithin(
      handler,
      `/v1/buckets/${bed.bucketName}/presign`,
      { key: 'k', method: 'GET' },
      1500,
    );

    // Assess
    expect(answer).not.toBe('function timed out');
    expect((answer as APIGatewayProxyResult).statusCode).toBe(503);
  }, 30_000);
});
