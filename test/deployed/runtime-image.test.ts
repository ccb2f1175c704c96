import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PRESIGN_RUNTIME_PROVIDED_MODULES } from '../../lib/constructs/presign-api';
import { DRIFT_RUNTIME_PROVIDED_MODULES } from '../../lib/constructs/scheduled-drift-check';
import { readDeployedRun, readRunTemplate } from './services/deployed-run';
import { apiGatewayProxyEvent } from './support/deployed-functions';
import { type FunctionContainer, startFunctionContainer } from './support/lambda-container';

/*
 * The runtime image itself (built once by the global setup): the SDK modules it provides, an ES
 * module handler through the RIE and the RIC, the NODE_PATH hook's negative control, the one-shot
 * mode moto's Lambda uses, and the run's synthesized presign bundle booting in it.
 */

const run = promisify(execFile);
const REPO = join(__dirname, '../..');
const STS_FIXTURE = join(__dirname, 'fixtures/sts-handler');
const deployedRun = readDeployedRun();
const images = deployedRun.images;
const containers: FunctionContainer[] = [];

/** Starts a container and stops it after the file, whatever happens. */
async function started(...args: Parameters<typeof startFunctionContainer>): Promise<FunctionContainer> {
  const container = await startFunctionContainer(...args);
  containers.push(container);
  return container;
}

afterAll(async () => {
  await Promise.all(containers.map((container) => container.stop()));
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
    // The run's synth (global setup): x86_64, this host's architecture; the template differs from
    // the arm64 one in Architectures alone (test/infra/lambda-architecture.test.ts).
    const template = readRunTemplate(deployedRun);
    const route = template.apiRoutes.find((candidate) => candidate.resourcePath.endsWith('/presign'));
    if (route === undefined) throw new Error('no presign route in the synthesized template');
    const presign = template.function(route.functionLogicalId);
    expect(presign.logicalId).toMatch(/^PresignFunction/);
    expect(presign.architectures).toEqual(['x86_64']);
    // The template's environment, its references (the table's name) made concrete; no AWS
    // endpoint: the unknown route is answered before any call.
    const environment = template.resolveEnvironment(
      presign.logicalId,
      (logicalId) => `fbb-deployed-${logicalId}`,
    );
    expect(environment.REGISTRY_TABLE_NAME).toMatch(/^fbb-deployed-RegistryTable/);
    const container = await started({
      image: images.runtime,
      assetDir: presign.assetDir,
      handler: presign.handler,
      environment,
      memoryMb: presign.memorySize,
      timeoutSeconds: presign.timeout,
      name: 'presign',
    });
    const answer = await container.invoke(apiGatewayProxyEvent('POST', '/v1/no-such-route'));
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
