// Fence → API Gateway → presign, as deployed (issue [3.2], point 2): the project's Python client
// (clients/python, in its venv, signing with fixed fake credentials mapped to `fenceRoleArns`)
// calls the REST API emulated from the synthesized template; the presign and admin functions
// answer from their bundles in Lambda runtime containers, with the template's handler, memory,
// timeout and environment; the URLs are fetched from MinIO, which checks SigV4. The admin routes
// are driven by `fence-buckets --api` with fake credentials mapped to `adminRoleArns`. Negative
// controls: a renamed route and a dropped environment variable fail as they must.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DynamoDbBucketRegistry } from '../../functions/shared/registry/dynamodb-bucket-registry';
import { minioRegistration } from '../fixtures/bucket-records';
import { readEndpoints, type TestEndpoints } from '../integration/services/endpoints';
import { minioRootClient, secretsManager } from '../integration/support/aws';
import { type DeployedRun, readDeployedRun, readRunTemplate } from './services/deployed-run';
import { type ApiCaller, type EmulatedApiGateway, startApiGateway } from './support/api-gateway';
import { startDeployedFunction } from './support/deployed-functions';
import { type CfnTemplate, type DeployedTemplate, readDeployedTemplate } from './support/deployed-template';
import { deployToEmulators, type EmulatedDeployment } from './support/emulated-deployment';
import {
  type ClientError,
  type CliRun,
  type FakeCaller,
  type FenceOperation,
  type FenceResult,
  type PresignedUrlJson,
  runCli,
  runFenceClient,
} from './support/fence-client';
import type { FunctionContainer } from './support/lambda-container';

const REPO = join(__dirname, '../..');
const SLOW = 180_000;

/** An assumed-role session of `roleArn` (`arn:aws:iam::<account>:role/<name>`), as STS names it. */
function sessionOf(roleArn: string, session: string): string {
  const match = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  if (match === null) throw new Error(`not a role ARN: ${roleArn}`);
  const [, partition, account, name] = match;
  return `arn:${partition}:sts::${account}:assumed-role/${name}/${session}`;
}

const firstOf = (list: string | undefined, what: string): string => {
  const first = list?.split(',')[0]?.trim();
  if (!first) throw new Error(`the run's context has no ${what}`);
  return first;
};

/** Starts a function of the template in its container, as Lambda would create it. */
function startFunction(
  run: DeployedRun,
  template: DeployedTemplate,
  logicalId: string,
  environment: Record<string, string>,
): Promise<FunctionContainer> {
  // With the run's Fence DB CA where AWS's runtime keeps the RDS CAs (deployed-functions.ts).
  return startDeployedFunction(run, template.function(logicalId), environment);
}

function ok<T>(result: FenceResult | undefined): T {
  if (result === undefined) throw new Error('no result');
  if (result.error !== undefined) throw new Error(`the client raised ${JSON.stringify(result.error)}`);
  return result.ok as T;
}

function failed(result: FenceResult | undefined): ClientError {
  if (result === undefined) throw new Error('no result');
  if (result.error === undefined) throw new Error(`the client answered ${JSON.stringify(result.ok)}`);
  return result.error;
}

async function fetchPresigned(url: PresignedUrlJson, body?: Uint8Array | string): Promise<Response> {
  return fetch(url.url, {
    method: url.method,
    headers: url.headers,
    ...(body === undefined ? {} : { body }),
  });
}

describe('Deployed: Fence → API Gateway → presign (Python client, function containers, MinIO)', () => {
  let run: DeployedRun;
  let template: DeployedTemplate;
  let endpoints: TestEndpoints;
  let region: string;
  let deployment: EmulatedDeployment;
  let presignId: string;
  let adminId: string;
  let gateway: EmulatedApiGateway;
  let minio: S3Client;
  let callers: Record<string, ApiCaller>;
  let fence: FakeCaller;
  let admin: FakeCaller;
  const containers = new Map<string, FunctionContainer>();
  const extraContainers: FunctionContainer[] = [];
  const invoked: string[] = [];
  const buckets = {
    data: `fence-data-${randomUUID().slice(0, 8)}`,
    suspended: `fence-susp-${randomUUID().slice(0, 8)}`,
    adminActive: `fence-adm-a-${randomUUID().slice(0, 8)}`,
    adminSuspended: `fence-adm-s-${randomUUID().slice(0, 8)}`,
  };
  const secretRef = (bucket: string) => `gen3/fence/minio/${bucket}`;

  const invoke = async (functionLogicalId: string, event: APIGatewayProxyEvent) => {
    invoked.push(functionLogicalId);
    const container = containers.get(functionLogicalId);
    if (container === undefined) throw new Error(`no container runs ${functionLogicalId}`);
    return container.invoke(event);
  };
  const client = (operations: FenceOperation[], url = gateway.url) =>
    runFenceClient({ url, region, caller: fence }, operations);
  /** A CLI run exited 0; else fails with what it printed and the admin function's log. */
  const succeeded = async (cliRun: CliRun) => {
    if (cliRun.code === 0) return;
    const logs = await containers.get(adminId)?.logs();
    throw new Error(
      `fence-buckets exited ${cliRun.code}:\n${cliRun.stderr}${cliRun.stdout}\n--- the admin function's log ---\n${logs}`,
    );
  };
  const cli = (args: string[]) => runCli({ api: gateway.url, region, caller: admin }, [...args, '--json']);

  beforeAll(async () => {
    run = readDeployedRun();
    template = readRunTemplate(run);
    endpoints = readEndpoints();
    region = endpoints.aws.region;
    const functionOf = (prefix: string) => {
      const fn = template.functions.find((candidate) => candidate.logicalId.startsWith(prefix));
      if (fn === undefined) throw new Error(`the template has no ${prefix}…`);
      return fn.logicalId;
    };
    presignId = functionOf('PresignFunction');
    adminId = functionOf('AdminFunction');

    // Fixed, fake credentials, mapped to the roles the context names (as IRSA and an operator's
    // role would sign): Fence's for the presign routes, the admin role's for the admin routes.
    fence = {
      accessKeyId: 'AKIDFENCEDEPLOYED000',
      secretAccessKey: 'fence-deployed-test-secret-key-0000000000',
      arn: sessionOf(firstOf(run.context.fenceRoleArns, 'fenceRoleArns'), 'botocore-session-fence'),
    };
    admin = {
      accessKeyId: 'AKIDADMINDEPLOYED000',
      secretAccessKey: 'admin-deployed-test-secret-key-0000000000',
      arn: sessionOf(firstOf(run.context.adminRoleArns, 'adminRoleArns'), 'operator'),
    };
    callers = Object.fromEntries(
      [fence, admin].map(({ accessKeyId, secretAccessKey, arn }) => [accessKeyId, { secretAccessKey, arn }]),
    );

    deployment = await deployToEmulators(
      template,
      { aws: endpoints.aws.moto, region },
      { id: `fa${randomUUID().slice(0, 6)}` },
    );

    // Fence DB's schema, as an operator applies it before the admin API writes there (a
    // non-zero exit rejects).
    await promisify(execFile)(process.execPath, [join(REPO, 'bin/fence-buckets.mjs'), 'db', 'migrate'], {
      cwd: REPO,
      env: { ...process.env, FENCE_DB_URL: endpoints.postgresUrl },
    });

    const [presign, adminFunction] = await Promise.all([
      startFunction(run, template, presignId, deployment.environment(presignId)),
      startFunction(run, template, adminId, deployment.environment(adminId)),
    ]);
    containers.set(presignId, presign);
    containers.set(adminId, adminFunction);
    gateway = await startApiGateway({ template, callers, invoke });

    // The buckets on MinIO, their keys (MinIO's root user) in Secrets Manager under the prefix.
    minio = minioRootClient(endpoints.minio);
    for (const bucket of Object.values(buckets)) {
      await minio.send(new CreateBucketCommand({ Bucket: bucket }));
      await secretsManager().send(
        new CreateSecretCommand({
          Name: secretRef(bucket),
          SecretString: JSON.stringify({
            access_key_id: endpoints.minio.rootUser,
            secret_access_key: endpoints.minio.rootPassword,
          }),
        }),
      );
    }
    await minio.send(new PutObjectCommand({ Bucket: buckets.data, Key: 'batch/good.txt', Body: 'batch' }));
    await minio.send(
      new PutObjectCommand({ Bucket: buckets.adminActive, Key: 'admin/hello.txt', Body: 'via admin' }),
    );

    // Records straight into the deployment's registry table (the presign function's own
    // REGISTRY_TABLE_NAME), as the sync or the admin API would leave them.
    const registry = new DynamoDbBucketRegistry(
      deployment.environment(presignId).REGISTRY_TABLE_NAME as string,
    );
    for (const bucket of [buckets.data, buckets.suspended]) {
      await registry.create(
        minioRegistration({
          bucket_name: bucket,
          secret_ref: secretRef(bucket),
          endpoint: endpoints.minio.endpoint,
        }),
      );
    }
    const suspended = await registry.getByName(buckets.suspended);
    if (suspended === undefined) throw new Error('the suspended bucket was not written');
    await registry.update(suspended.id, suspended.revision, { status: 'suspended' });
  }, SLOW);

  afterAll(async () => {
    await gateway?.close();
    await Promise.allSettled(
      [...containers.values(), ...extraContainers].map((container) => container.stop()),
    );
    await deployment?.destroy();
    minio?.destroy();
  }, SLOW);

  beforeEach(() => {
    invoked.length = 0;
  });

  it(
    'PUT, GET and HEAD: URLs the client got from the presign container work on MinIO',
    async () => {
      // Arrange
      const key = `objects/${randomUUID()}.txt`;
      const body = `hello from Fence ${randomUUID()}`;

      // Act
      const [put, get, head] = await client([
        { op: 'presign', bucket: buckets.data, key, method: 'PUT', content_type: 'text/plain' },
        { op: 'presign', bucket: buckets.data, key, method: 'GET' },
        { op: 'presign', bucket: buckets.data, key, method: 'HEAD' },
      ]);
      const putAnswer = await fetchPresigned(ok(put), body);
      const getAnswer = await fetchPresigned(ok(get));
      const headAnswer = await fetchPresigned(ok(head));

      // Assess
      expect(invoked).toEqual([presignId, presignId, presignId]);
      expect(ok<PresignedUrlJson>(put).headers).toEqual({ 'content-type': 'text/plain' });
      expect(putAnswer.status).toBe(200);
      expect(getAnswer.status).toBe(200);
      expect(await getAnswer.text()).toBe(body);
      expect(headAnswer.status).toBe(200);
      expect(headAnswer.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
      expect(headAnswer.headers.get('content-type')).toBe('text/plain');
    },
    SLOW,
  );

  it(
    'multipart: create, part URLs, PUT the parts, complete, then GET the whole object',
    async () => {
      // Arrange: S3 (and MinIO) want every part but the last to be at least 5 MiB.
      const key = `multipart/${randomUUID()}.bin`;
      const parts = [Buffer.alloc(5 * 1024 * 1024, 'a'), Buffer.from(`the tail ${randomUUID()}`)];

      // Act
      const [created] = await client([{ op: 'multipart_create', bucket: buckets.data, key }]);
      const { upload_id } = ok<{ upload_id: string }>(created);
      const [urls] = await client([
        { op: 'multipart_part_urls', bucket: buckets.data, key, upload_id, part_numbers: [1, 2] },
      ]);
      const uploaded = await Promise.all(
        ok<{ part_number: number; url: string }[]>(urls).map(async ({ part_number, url }) => {
          const answer = await fetch(url, { method: 'PUT', body: parts[part_number - 1] });
          expect(answer.status).toBe(200);
          return { part_number, etag: String(answer.headers.get('etag')) };
        }),
      );
      const [completed] = await client([
        { op: 'multipart_complete', bucket: buckets.data, key, upload_id, parts: uploaded },
      ]);
      const [get] = await client([{ op: 'presign', bucket: buckets.data, key, method: 'GET' }]);
      const whole = await fetchPresigned(ok(get));

      // Assess
      expect(upload_id).not.toBe('');
      expect(ok<{ etag: string }>(completed).etag).toMatch(/-2"?$/);
      expect(whole.status).toBe(200);
      expect(Buffer.from(await whole.arrayBuffer()).equals(Buffer.concat(parts))).toBe(true);
      expect(new Set(invoked)).toEqual(new Set([presignId]));
    },
    SLOW,
  );

  it(
    'batch: the good item is signed, the `..` item gets its own invalid_request in its place',
    async () => {
      // Act
      const [batch] = await client([
        {
          op: 'presign_batch',
          bucket: buckets.data,
          items: [
            { key: 'batch/good.txt', method: 'GET' },
            { key: 'batch/../escape.txt', method: 'GET' },
          ],
        },
      ]);
      const [good, bad] = ok<FenceResult<PresignedUrlJson>[]>(batch);
      const download = await fetchPresigned(ok(good));

      // Assess
      expect(download.status).toBe(200);
      expect(await download.text()).toBe('batch');
      expect(failed(bad)).toMatchObject({ class: 'InvalidRequest', code: 'invalid_request' });
      expect(failed(bad).message).toMatch(/\.\./);
    },
    SLOW,
  );

  it(
    'an unknown bucket: 404 unknown_bucket (UnknownBucket), answered and audited by the presign container',
    async () => {
      // Act
      const [answer] = await client([
        { op: 'presign', bucket: `never-registered-${randomUUID().slice(0, 8)}`, key: 'a', method: 'GET' },
      ]);

      // Assess
      const error = failed(answer);
      expect(error).toMatchObject({ class: 'UnknownBucket', code: 'unknown_bucket', status: 404 });
      expect(invoked).toEqual([presignId]);
      // The broker's request id is in the audit line the function wrote in its container.
      expect(error.request_id).toEqual(expect.any(String));
      expect(await containers.get(presignId)?.logs()).toContain(String(error.request_id));
    },
    SLOW,
  );

  it(
    'a suspended bucket: 409 bucket_suspended (BucketSuspended), as the README documents for suspended buckets',
    async () => {
      // Act
      const [answer] = await client([{ op: 'presign', bucket: buckets.suspended, key: 'a', method: 'GET' }]);

      // Assess
      expect(failed(answer)).toMatchObject({
        class: 'BucketSuspended',
        code: 'bucket_suspended',
        status: 409,
      });
    },
    SLOW,
  );

  it(
    'admin through the API with `fence-buckets --api`: register, suspend and resume answer from the admin container',
    async () => {
      // Arrange
      const register = (bucket: string) =>
        cli([
          'register',
          '--bucket',
          bucket,
          '--provider',
          'minio',
          '--auth-mode',
          'static',
          '--secrets-backend',
          'aws_sm',
          '--secret-ref',
          secretRef(bucket),
          '--endpoint',
          endpoints.minio.endpoint,
          '--region',
          region,
          '--allowed-ops',
          'download,upload',
        ]);

      // Act: one bucket registered (and proven on MinIO by the admin function), another
      // registered and suspended before Fence ever asks for it.
      const active = await register(buckets.adminActive);
      const registered = await register(buckets.adminSuspended);
      const suspend = await cli(['suspend', buckets.adminSuspended]);
      const adminInvocations = invoked.splice(0);
      const [download, refused] = await client([
        { op: 'presign', bucket: buckets.adminActive, key: 'admin/hello.txt', method: 'GET' },
        { op: 'presign', bucket: buckets.adminSuspended, key: 'a', method: 'GET' },
      ]);

      // Assess
      await succeeded(active);
      await succeeded(registered);
      await succeeded(suspend);
      // Two registrations and a suspension (the CLI reads the record, then patches it).
      expect(new Set(adminInvocations)).toEqual(new Set([adminId]));
      expect(adminInvocations.length).toBeGreaterThanOrEqual(3);
      expect(invoked).toEqual([presignId, presignId]);
      const downloaded = await fetchPresigned(ok(download));
      expect(await downloaded.text()).toBe('via admin');
      expect(failed(refused)).toMatchObject({ class: 'BucketSuspended', status: 409 });

      // Act: resumed, presigning comes back within the registry cache TTL.
      await succeeded(await cli(['resume', buckets.adminSuspended]));
      let again: FenceResult | undefined;
      const deadline = Date.now() + 30_000;
      do {
        [again] = await client([{ op: 'presign', bucket: buckets.adminSuspended, key: 'a', method: 'GET' }]);
      } while (again?.error?.code === 'bucket_suspended' && Date.now() < deadline);

      // Assess
      expect(ok<PresignedUrlJson>(again).method).toBe('GET');
    },
    SLOW,
  );

  describe('negative controls: what must make this suite fail does', () => {
    it(
      'a changed route (a PathPart renamed in a copy of the template): the client no longer reaches presign',
      async () => {
        // Arrange
        const copy = JSON.parse(JSON.stringify(template.template)) as CfnTemplate;
        const presignRoute = template.apiRoutes.find((route) => route.resourcePath.endsWith('/presign'));
        const resource = copy.Resources[String(presignRoute?.resourceLogicalId)]?.Properties as {
          PathPart: string;
        };
        expect(resource.PathPart).toBe('presign');
        resource.PathPart = 'presign-v2';
        const changed = readDeployedTemplate(
          copy,
          template.outdir,
          template.stackName,
          template.pseudoParameters,
        );
        const changedGateway = await startApiGateway({ template: changed, callers, invoke });

        // Act
        const [answer] = await client(
          [{ op: 'presign', bucket: buckets.data, key: 'batch/good.txt', method: 'GET' }],
          changedGateway.url,
        ).finally(() => changedGateway.close());

        // Assess: API Gateway's own 403 for a path it has no resource for; no function ran.
        expect(failed(answer)).toMatchObject({ code: 'unexpected_answer', status: 403 });
        expect(invoked).toEqual([]);
      },
      SLOW,
    );

    describe('a dropped environment variable: presign started without REGISTRY_TABLE_NAME', () => {
      let broken: FunctionContainer;
      let answer: FenceResult | undefined;
      let logs: string;

      beforeAll(async () => {
        const { REGISTRY_TABLE_NAME: _dropped, ...environment } = deployment.environment(presignId);
        broken = await startFunction(run, template, presignId, environment);
        extraContainers.push(broken);
        const brokenGateway = await startApiGateway({
          template,
          callers,
          invoke: (id, event) => (id === presignId ? broken.invoke(event) : invoke(id, event)),
        });
        [answer] = await client(
          [{ op: 'presign', bucket: buckets.data, key: 'batch/good.txt', method: 'GET' }],
          brokenGateway.url,
        ).finally(() => brokenGateway.close());
        logs = await broken.logs();
      }, SLOW);

      it('the invocation fails at init: API Gateway’s 502, not a 200, and the log says which variable', () => {
        // Assess
        expect(failed(answer)).toMatchObject({ code: 'unexpected_answer', status: 502 });
        expect(logs).toMatch(/Init Error/);
        expect(logs).toContain('invalid environment: REGISTRY_TABLE_NAME is required');
      });

      it('the init error is logged as a ConfigurationError (its errorType), as the handler raises it', () => {
        // Assess
        const initError = /Init Error\s+(\{.*\})/.exec(logs)?.[1];
        expect(initError).toBeDefined();
        expect(JSON.parse(String(initError))).toMatchObject({
          errorType: 'ConfigurationError',
          errorMessage: 'invalid environment: REGISTRY_TABLE_NAME is required',
        });
      });
    });
  });
});
