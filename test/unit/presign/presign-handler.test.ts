import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { PresignEnvironmentSchema } from '../../../functions/presign/environment';
import { createPresignHandler } from '../../../functions/presign/presign-handler';
import { wirePresignService } from '../../../functions/presign/presign-wiring';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { UnknownBucketError } from '../../../functions/shared/errors';

/**
 * The chain builds Powertools Logger only for an unexpected error, and still gives each such
 * line the invocation's Lambda context, as `injectLambdaContext` did.
 */
describe('Function: createPresignHandler (error logger)', () => {
  const environment = readEnvironment(PresignEnvironmentSchema, {
    REGISTRY_TABLE_NAME: 'registry',
    FENCE_SECRETS_BACKEND: 'k8s',
    FENCE_SECRETS_DIR: '/nonexistent',
  });
  const event = (bucket: string) =>
    ({
      httpMethod: 'POST',
      path: `/v1/buckets/${bucket}/presign`,
      body: JSON.stringify({ key: 'a.txt', method: 'GET' }),
      isBase64Encoded: false,
      requestContext: { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/fence/pod' } },
    }) as unknown as APIGatewayProxyEvent;
  const context = (requestId: string) =>
    ({
      awsRequestId: requestId,
      functionName: 'presign',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:presign',
      memoryLimitInMB: '512',
      getRemainingTimeInMillis: () => 10_000,
    }) as unknown as Context;

  function setup() {
    const written: Record<string, unknown>[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      jest.spyOn(stream, 'write').mockImplementation((chunk) => {
        written.push(JSON.parse(String(chunk)));
        return true;
      });
    }
    let built = 0;
    const handler = createPresignHandler({
      wiring: wirePresignService(environment, {
        // `broken` fails as a bug would (an error that is not ours); `gone` as an unknown bucket.
        registry: {
          getByName: async (name: string) => {
            if (name === 'gone') throw new UnknownBucketError(name);
            throw new TypeError('registry bug');
          },
        },
      }),
      logger: async () => {
        built++;
        return new Logger({ serviceName: 'test' });
      },
      metrics: async () => {
        throw new Error('no metrics in this test');
      },
      auditSampleRate: 1,
      metricsIntervalMs: 3_600_000,
    });
    const errorLines = () => written.filter((line) => line.level === 'ERROR');
    return { handler, errorLines, builtCount: () => built };
  }

  // Powertools reports cold starts only in on-demand execution environments.
  beforeEach(() => {
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  });
  afterEach(() => {
    delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    jest.restoreAllMocks();
  });

  it('never builds the logger while requests end in answers of ours', async () => {
    // Prepare
    const { handler, errorLines, builtCount } = setup();

    // Act
    const answer = await handler(event('gone'), context('r-1'));

    // Assess
    expect(answer.statusCode).toBe(404);
    expect(builtCount()).toBe(0);
    expect(errorLines()).toEqual([]);
  });

  it('logs an unexpected error with the Lambda context before the invocation returns', async () => {
    // Prepare
    const { handler, errorLines, builtCount } = setup();

    // Act
    const first = await handler(event('broken'), context('r-1'));
    const second = await handler(event('broken'), context('r-2'));

    // Assess
    expect([first.statusCode, second.statusCode]).toEqual([500, 500]);
    expect(builtCount()).toBe(1);
    expect(errorLines()).toEqual([
      expect.objectContaining({
        message: 'unexpected error',
        cold_start: true,
        function_request_id: 'r-1',
        function_name: 'presign',
        function_arn: 'arn:aws:lambda:us-east-1:123456789012:function:presign',
        error: expect.objectContaining({ name: 'TypeError', message: 'registry bug' }),
      }),
      expect.objectContaining({ cold_start: false, function_request_id: 'r-2' }),
    ]);
  });

  it('does not call an invocation cold when the logger is first built after the first one', async () => {
    // Prepare
    const { handler, errorLines } = setup();
    await handler(event('gone'), context('r-1'));

    // Act
    await handler(event('broken'), context('r-2'));

    // Assess
    expect(errorLines()).toEqual([
      expect.objectContaining({ cold_start: false, function_request_id: 'r-2' }),
    ]);
  });
});
