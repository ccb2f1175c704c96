import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PRESIGN_RUNTIME_PROVIDED_MODULES } from '../../lib/constructs/presign-api';
import { DRIFT_RUNTIME_PROVIDED_MODULES } from '../../lib/constructs/scheduled-drift-check';
import { type DockerHandle, ensureDocker } from './services/docker';
import { type FunctionContainer, startFunctionContainer } from './support/lambda-container';
import { buildLambdaImages, type LambdaImages } from './support/lambda-images';

const run = promisify(execFile);
const REPO = join(__dirname, '../..');
const STS_FIXTURE = join(__dirname, 'fixtures/sts-handler');

/** A Lambda function of the synthesized template, as far as this test reads it. */
interface TemplateResource {
  Type: string;
  Metadata?: Record<string, string>;
  Properties: {
    Handler: string;
    MemorySize: number;
    Timeout: number;
    Architectures?: string[];
    Environment?: { Variables?: Record<string, unknown> };
  };
}

let docker: DockerHandle;
let images: LambdaImages;
let synthDir: string;
const containers: FunctionContainer[] = [];

/** Starts a container and stops it after the file, whatever happens. */
async function started(...args: Parameters<typeof startFunctionContainer>): Promise<FunctionContainer> {
  const container = await startFunctionContainer(...args);
  containers.push(container);
  return container;
}

beforeAll(async () => {
  docker = await ensureDocker();
  synthDir = mkdtempSync(join(tmpdir(), 'fbb-deployed-synth-'));
  // Offline: no AWS credentials or account in the synth's environment.
  const synth = run('npx', ['cdk', 'synth', '--quiet', '-o', synthDir], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 5 * 60_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  [images] = await Promise.all([buildLambdaImages(), synth]);
}, 25 * 60_000);

afterAll(async () => {
  await Promise.all(containers.map((container) => container.stop()));
  if (synthDir !== undefined) rmSync(synthDir, { recursive: true, force: true });
  await docker?.stop();
}, 60_000);

describe('the runtime image', () => {
  it('holds exactly the SDK modules the bundles leave external, at the lock file versions', () => {
    const sdk = JSON.parse(
      readFileSync(join(REPO, 'scripts/lambda-runtime/runtime-sdk/package.json'), 'utf8'),
    );
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8'));
    const external = [
      ...new Set([...PRESIGN_RUNTIME_PROVIDED_MODULES, ...DRIFT_RUNTIME_PROVIDED_MODULES]),
    ].sort();
    expect(Object.keys(sdk.dependencies).sort()).toEqual(external);
    for (const name of external) {
      expect(`${name}@${sdk.dependencies[name]}`).toBe(
        `${name}@${lock.packages[`node_modules/${name}`].version}`,
      );
    }
  });

  it('runs an ES module handler that imports the runtime SDK through the RIE and the RIC', async () => {
    const container = await started({
      image: images.runtime,
      assetDir: STS_FIXTURE,
      handler: 'index.handler',
      environment: {},
      memoryMb: 256,
      timeoutSeconds: 10,
      name: 'sts-fixture',
    });
    const answer = await container.invoke({ hello: 'lambda' });
    expect(answer).toEqual({
      payload: {
        echo: { hello: 'lambda' },
        stsClient: 'function',
        node: expect.stringMatching(/^v24\./),
        handler: 'index.handler',
        memory: '256',
      },
    });
    const initMs = await container.initDurationMs();
    expect(initMs).toBeGreaterThan(0);
    // A second invoke is warm: no second INIT REPORT line of the init phase.
    expect((await container.invoke({ again: true })).functionError).toBeUndefined();
    expect((await container.logs()).match(/INIT START\(type: on-demand, phase: init\)/g)).toHaveLength(1);
    const failed = await container.invoke({ fail: 'deliberate' });
    expect(failed).toEqual({
      payload: expect.objectContaining({ errorType: 'Error', errorMessage: 'deliberate' }),
      functionError: 'Unhandled',
    });
  }, 60_000);

  it('fails that import with ERR_MODULE_NOT_FOUND when the NODE_PATH hook is off (negative control)', async () => {
    const container = await started({
      image: images.runtime,
      assetDir: STS_FIXTURE,
      handler: 'index.handler',
      environment: { FBB_LAMBDA_NODE_PATH_HOOK: 'off' },
      memoryMb: 256,
      timeoutSeconds: 10,
      name: 'sts-fixture-no-hook',
    });
    const answer = await container.invoke({ hello: 'lambda' });
    expect(answer.functionError).toBe('Unhandled');
    expect(JSON.stringify(answer.payload)).toContain("Cannot find package '@aws-sdk/client-sts'");
    expect(await container.logs()).toContain('ERR_MODULE_NOT_FOUND');
  }, 60_000);

  describe('one-shot mode (as moto runs it: `docker run <image> <handler> <event>`)', () => {
    const oneShot = async (event: unknown) => {
      const args = ['run', '--rm', '--network', 'host', '--volume', `${STS_FIXTURE}:/var/task:ro`];
      args.push('--env', 'AWS_REGION=us-east-1', images.runtime, 'index.handler', JSON.stringify(event));
      try {
        const { stdout, stderr } = await run('docker', args, { encoding: 'utf8', timeout: 60_000 });
        return { stdout, stderr, code: 0 };
      } catch (error) {
        const { stdout, stderr, code } = error as { stdout: string; stderr: string; code: number };
        return { stdout, stderr, code };
      }
    };
    /** moto's reading: the last line of the output, stderr first, then stdout. */
    const lastLine = (output: { stdout: string; stderr: string }) =>
      `${output.stderr}${output.stdout}`.trimEnd().split('\n').at(-1) ?? '';

    it('prints the answer as the last line and exits 0', async () => {
      const output = await oneShot({ one: 'shot' });
      expect(output.code).toBe(0);
      expect(JSON.parse(lastLine(output))).toMatchObject({ echo: { one: 'shot' }, stsClient: 'function' });
      // stdout holds the answer only; the RIE's and the runtime's lines are on stderr.
      expect(output.stdout.trimEnd().split('\n')).toHaveLength(1);
      expect(output.stderr).toContain('INIT REPORT');
    }, 60_000);

    it('exits non-zero on a function error, with the error as the last line', async () => {
      const output = await oneShot({ fail: 'one-shot failure' });
      expect(output.code).not.toBe(0);
      expect(JSON.parse(lastLine(output))).toMatchObject({
        errorType: 'Error',
        errorMessage: 'one-shot failure',
      });
    }, 60_000);
  });
});

describe('the synthesized presign bundle', () => {
  it('boots in the runtime image and answers an unknown route with a 4xx JSON error', async () => {
    const template = JSON.parse(readFileSync(join(synthDir, 'FenceBucketBroker.template.json'), 'utf8')) as {
      Resources: Record<string, TemplateResource>;
    };
    const [, presign] =
      Object.entries(template.Resources).find(
        ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id.startsWith('PresignFunction'),
      ) ?? [];
    if (presign === undefined) throw new Error('no PresignFunction in the synthesized template');
    const assetPath = presign.Metadata?.['aws:asset:path'];
    if (assetPath === undefined) throw new Error('PresignFunction has no aws:asset:path');
    // The stack deploys arm64; the image is x86_64. The bundle is JavaScript, so it runs the same.
    expect(presign.Properties.Architectures).toEqual(['arm64']);
    // The template's environment, with its references (the table's name) made concrete.
    const environment = Object.fromEntries(
      Object.entries(presign.Properties.Environment?.Variables ?? {}).map(([key, value]) => [
        key,
        typeof value === 'string' ? value : `fbb-deployed-${key.toLowerCase()}`,
      ]),
    );
    expect(environment.REGISTRY_TABLE_NAME).toBe('fbb-deployed-registry_table_name');
    const container = await started({
      image: images.runtime,
      assetDir: join(synthDir, assetPath),
      handler: presign.Properties.Handler,
      environment,
      memoryMb: presign.Properties.MemorySize,
      timeoutSeconds: presign.Properties.Timeout,
      name: 'presign',
    });
    const answer = await container.invoke(apiGatewayEvent('POST', '/v1/no-such-route'));
    expect(answer.functionError).toBeUndefined();
    const response = answer.payload as { statusCode: number; headers?: Record<string, string>; body: string };
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: expect.any(String), message: expect.any(String), request_id: expect.any(String) },
    });
    expect(await container.initDurationMs()).toBeGreaterThan(0);
  }, 60_000);
});

/** A minimal API Gateway REST proxy event, as IAM-authorized API Gateway sends it. */
function apiGatewayEvent(httpMethod: string, path: string) {
  return {
    resource: '/{proxy+}',
    path,
    httpMethod,
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: { 'content-type': ['application/json'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      resourcePath: '/{proxy+}',
      httpMethod,
      path: `/prod${path}`,
      stage: 'prod',
      requestId: 'deployed-test-request',
      identity: { caller: 'AROAFENCE:fence', userArn: 'arn:aws:sts::123456789012:assumed-role/fence/fence' },
    },
    body: '{}',
    isBase64Encoded: false,
  };
}
