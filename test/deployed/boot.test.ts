import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbBucketRegistry } from '../../functions/shared/registry/dynamodb-bucket-registry';
import { roleRegistration } from '../fixtures/bucket-records';
import { readEndpoints } from '../integration/services/endpoints';
import { createRoleRequiringExternalId, uniqueName } from '../integration/support/aws';
import { cli } from '../integration/support/cli';
import { readDeployedRun, readRunTemplate } from './services/deployed-run';
import {
  apiGatewayProxyEvent,
  INIT_FAILURES,
  rotationEvent,
  scheduledInvocation,
  startDeployedFunction,
} from './support/deployed-functions';
import type { ApiRoute, DeployedFunction, DeployedSchedule } from './support/deployed-template';
import { deployToEmulators, type EmulatedDeployment } from './support/emulated-deployment';
import type { FunctionContainer, InvokeResult } from './support/lambda-container';

/*
 * Every AWS::Lambda::Function of the run's synthesized template (every feature on, x86_64) boots
 * as Lambda boots it: its asset directory from the cloud assembly, in the runtime image through
 * the RIE and the RIC, with the template's handler, memory, timeout and environment (resolved
 * against a fresh emulated deployment). Each is invoked the way its trigger in the template
 * invokes it, with an event whose outcome is checked: API Gateway's proxy event for an unknown
 * route, Secrets Manager's rotation step for a secret that does not exist, EventBridge's
 * scheduled event. Two negative controls show the suite notices a module missing at run time and
 * an environment variable the template drops.
 */

const run = readDeployedRun();
const endpoints = readEndpoints();
const template = readRunTemplate(run);
const region = endpoints.aws.region;
const { accountId, partition } = template.pseudoParameters;
/** An assumed-role session of the first admin principal the context names. */
const adminCaller = (run.context.adminRoleArns ?? '')
  .split(',')[0]
  ?.replace(
    /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/,
    'arn:$1:sts::$2:assumed-role/$3/deployed-test',
  );

/** How the template has a function invoked. */
type Trigger =
  | { kind: 'api'; routes: ApiRoute[] }
  | { kind: 'rotation' }
  | { kind: 'schedule'; schedule: DeployedSchedule; target: DeployedSchedule['targets'][number] };

function triggerOf(fn: DeployedFunction): Trigger {
  const routes = template.apiRoutes.filter((route) => route.functionLogicalId === fn.logicalId);
  if (routes.length > 0) return { kind: 'api', routes };
  // A rotation schedule names it, or (the IAM user-key rotation, enabled per secret after deploy
  // by `fence-buckets migrate --enable-rotation`) Secrets Manager may invoke it.
  if (
    template.rotationSchedules.some((rotation) => rotation.rotationFunctionLogicalId === fn.logicalId) ||
    template.permissions.some(
      (permission) =>
        permission.functionLogicalId === fn.logicalId &&
        permission.principal === 'secretsmanager.amazonaws.com',
    )
  ) {
    return { kind: 'rotation' };
  }
  for (const schedule of template.schedules) {
    const target = schedule.targets.find((candidate) => candidate.functionLogicalId === fn.logicalId);
    if (target !== undefined) return { kind: 'schedule', schedule, target };
  }
  throw new Error(
    `${fn.logicalId}: no API route, rotation schedule, Secrets Manager permission or schedule of the template invokes it`,
  );
}

/** A path under the first segment all of a function's routes share (the API version), on none of them. */
function unknownPathOf(routes: readonly ApiRoute[]): string {
  const first = new Set(routes.map((route) => route.resourcePath.split('/')[1]));
  const [segment, ...others] = [...first];
  if (segment === undefined || others.length > 0 || segment.startsWith('{')) {
    throw new Error(
      `the routes ${routes.map((route) => route.resourcePath).join(', ')} share no first segment`,
    );
  }
  return `/${segment}/no-such-route`;
}

describe("Deployed: every function's bundle boots as Lambda boots it", () => {
  let deployment: EmulatedDeployment;
  const containers: FunctionContainer[] = [];
  const work = mkdtempSync(join(tmpdir(), 'fbb-boot-'));

  const start = async (...args: Parameters<typeof startDeployedFunction>) => {
    const container = await startDeployedFunction(...args);
    containers.push(container);
    return container;
  };
  const presign = (() => {
    const route = template.apiRoutes.find((candidate) => candidate.resourcePath.endsWith('/presign'));
    if (route === undefined) throw new Error('the template has no presign route');
    return { route, fn: template.function(route.functionLogicalId) };
  })();
  /** A presign GET of the role bucket: its path imports `@aws-sdk/client-sts` (AssumeRole on moto). */
  let roleBucket: string;
  const roleBucketRequest = () =>
    apiGatewayProxyEvent('POST', presign.route.resourcePath.replace('{bucket}', roleBucket), {
      resource: presign.route.resourcePath,
      pathParameters: { bucket: roleBucket },
      body: { key: 'any/object.txt', method: 'GET' },
    });

  beforeAll(async () => {
    deployment = await deployToEmulators(
      template,
      { aws: endpoints.aws.moto, region },
      { id: uniqueName('boot') },
    );
    // The sync function reads Fence DB's registry table: its schema, as the README has operators
    // apply it (`fence-buckets db migrate`); applying it again does nothing.
    const migrated = await cli(['db', 'migrate'], { FENCE_DB_URL: endpoints.postgresUrl });
    if (migrated.code !== 0) throw new Error(`fence-buckets db migrate failed: ${migrated.err}`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(containers.map((container) => container.stop()));
    await deployment?.destroy();
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('has a trigger in the template for every function', () => {
    expect(template.functions.length).toBeGreaterThan(0);
    for (const fn of template.functions) expect(() => triggerOf(fn)).not.toThrow();
  });

  it.each(template.functions.map((fn) => [fn.logicalId, fn] as const))(
    '%s boots from its asset directory and its handler answers its trigger',
    async (_logicalId, fn) => {
      // Prepare
      const trigger = triggerOf(fn);
      const container = await start(run, fn, deployment.environment(fn.logicalId));

      // Act and assess, by trigger
      let answer: InvokeResult;
      switch (trigger.kind) {
        case 'api': {
          const isAdmin = trigger.routes.every((route) => route.resourcePath.startsWith('/v1/admin'));
          answer = await container.invoke(
            apiGatewayProxyEvent('POST', unknownPathOf(trigger.routes), {
              ...(isAdmin && adminCaller !== undefined ? { callerArn: adminCaller } : {}),
            }),
          );
          expect(answer.functionError).toBeUndefined();
          const response = answer.payload as { statusCode: number; body: string };
          expect(response.statusCode).toBe(404);
          expect(JSON.parse(response.body)).toEqual({
            error: { code: 'unknown_route', message: expect.any(String), request_id: expect.any(String) },
          });
          break;
        }
        case 'rotation': {
          const missing = `arn:${partition}:secretsmanager:${region}:${accountId}:secret:gen3/fence/minio/${uniqueName('absent')}-AbCdEf`;
          answer = await container.invoke(rotationEvent(missing));
          // The function's own failure: Secrets Manager (moto) does not know the secret.
          expect(answer).toEqual({
            functionError: 'Unhandled',
            payload: expect.objectContaining({
              errorType: 'ResourceNotFoundException',
              errorMessage: expect.stringMatching(/can't find the specified secret/i),
            }),
          });
          break;
        }
        case 'schedule': {
          answer = await container.invoke(
            scheduledInvocation(template, trigger.schedule, trigger.target, uniqueName('rule')),
          );
          // Its run succeeds against this deployment's empty table (see scheduled.test.ts for
          // runs over registered buckets and Fence DB rows).
          expect(answer.functionError).toBeUndefined();
          expect(answer.payload).toEqual(expect.any(Object));
          break;
        }
      }

      // Assess: the init succeeded, and the RIE measured it.
      const logs = await container.logs();
      expect(logs).not.toMatch(INIT_FAILURES);
      expect(await container.initDurationMs()).toBeGreaterThan(0);
    },
    120_000,
  );

  describe('negative controls', () => {
    beforeAll(async () => {
      // A role bucket in the deployment's registry, its role in moto's IAM (AssumeRole checks the external id).
      const roleArn = await createRoleRequiringExternalId('boot-external-id');
      roleBucket = uniqueName('boot-role');
      const tableName = deployment.environment(presign.fn.logicalId).REGISTRY_TABLE_NAME ?? '';
      await new DynamoDbBucketRegistry(tableName).create(
        roleRegistration({ bucket_name: roleBucket, role_arn: roleArn, external_id: 'boot-external-id' }),
      );
    }, 60_000);

    it('an intact presign bundle presigns for a role bucket (its path imports @aws-sdk/client-sts from the runtime)', async () => {
      const container = await start(run, presign.fn, deployment.environment(presign.fn.logicalId), {
        name: 'presign-intact',
      });

      const answer = await container.invoke(roleBucketRequest());

      expect(answer.functionError).toBeUndefined();
      const response = answer.payload as { statusCode: number; body: string };
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ url: expect.stringContaining(roleBucket) });
      expect(await container.logs()).not.toMatch(INIT_FAILURES);
    }, 120_000);

    it('fails with ERR_MODULE_NOT_FOUND when the bundle imports a module the runtime lacks', async () => {
      // Prepare: a copy of the presign asset whose imports of the runtime's STS client are renamed.
      const broken = join(work, 'presign-broken');
      cpSync(presign.fn.assetDir, broken, { recursive: true });
      const bundle = join(broken, 'index.mjs');
      const source = readFileSync(bundle, 'utf8');
      const imported = 'import("@aws-sdk/client-sts")';
      expect(source.split(imported).length).toBeGreaterThan(1);
      writeFileSync(bundle, source.replaceAll(imported, 'import("@aws-sdk/client-stz")'));
      const container = await start(run, presign.fn, deployment.environment(presign.fn.logicalId), {
        assetDir: broken,
        name: 'presign-broken',
      });

      // Act
      const answer = await container.invoke(roleBucketRequest());

      // Assess: no URL, and the runtime says why, in the terms the boot check looks for.
      expect((answer.payload as { statusCode?: number }).statusCode).not.toBe(200);
      const logs = await container.logs();
      expect(logs).toMatch(INIT_FAILURES);
      expect(logs).toContain('ERR_MODULE_NOT_FOUND');
      expect(logs).toContain("Cannot find package '@aws-sdk/client-stz'");
    }, 120_000);

    it('fails its init with a ConfigurationError when the template drops REGISTRY_TABLE_NAME', async () => {
      // Prepare
      const { REGISTRY_TABLE_NAME: dropped, ...environment } = deployment.environment(presign.fn.logicalId);
      expect(dropped).toEqual(expect.any(String));
      const container = await start(run, presign.fn, environment, { name: 'presign-no-table' });

      // Act
      const answer = await container.invoke(apiGatewayProxyEvent('POST', '/v1/no-such-route'));

      // Assess: the init failed, in the terms the boot check looks for, on the missing variable.
      expect(answer.functionError).toBe('Unhandled');
      const logs = await container.logs();
      expect(logs).toMatch(INIT_FAILURES);
      expect(logs).toContain('INIT RTDONE(status: error)');
      const initError = initErrorOf(logs);
      expect(initError.errorMessage).toBe('invalid environment: REGISTRY_TABLE_NAME is required');
      // Named as the class states it, though the bundle is minified (errors.ts).
      expect(initError.errorType).toBe('ConfigurationError');
    }, 120_000);
  });
});

/** The RIC's `Init Error` log line, parsed. */
function initErrorOf(logs: string): { errorType: string; errorMessage: string; stack: string[] } {
  const line = logs.split('\n').find((candidate) => candidate.includes('\tInit Error'));
  if (line === undefined) throw new Error(`no Init Error line in the logs:\n${logs.slice(-3000)}`);
  return JSON.parse(line.slice(line.indexOf('{'))) as {
    errorType: string;
    errorMessage: string;
    stack: string[];
  };
}
