import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { MinioAdminClient } from '../../functions/shared/minio/minio-admin-client';
import { DynamoDbBucketRegistry } from '../../functions/shared/registry/dynamodb-bucket-registry';
import { readManagedKeyTag, writeManagedKeyTag } from '../../functions/shared/rotation/managed-key-tag';
import { minioRegistration } from '../fixtures/bucket-records';
import { writeSelfSignedCertificate } from '../integration/services/certificates';
import { readEndpoints } from '../integration/services/endpoints';
import { type MinioServer, startMinio } from '../integration/services/minio';
import { uniqueName } from '../integration/support/aws';
import { readDeployedRun, readRunTemplate } from './services/deployed-run';
import { type EmulatedApiGateway, startApiGateway } from './support/api-gateway';
import { deployToEmulators, type EmulatedDeployment } from './support/emulated-deployment';
import { type FunctionContainer, startFunctionContainer } from './support/lambda-container';
import { callApi, type TestCaller } from './support/signed-api';

/*
 * Secrets Manager rotates on its own: moto's RotateSecret (moto_server.py, point 5) invokes the
 * deployed rotation function, which moto's Lambda runs from the synthesized bundle in the Lambda
 * runtime image, with the template's environment, for createSecret, setSecret, testSecret and
 * finishSecret against a MinIO served over TLS (its CA in the secret's `ca_bundle_pem`, as a
 * private-CA deployment has it). No step is called by the test. A reader fetching through
 * presigned URLs from the deployed presign function never fails while keys change.
 */

const run = readDeployedRun();
const endpoints = readEndpoints();
const template = readRunTemplate(run);
const region = endpoints.aws.region;
const schedule = template.rotationSchedules[0];
const presignRoute = template.apiRoutes.find((route) => route.resourcePath.endsWith('/presign'));
const fence: TestCaller = {
  accessKeyId: 'AKIDDEPLOYEDFENCE001',
  secretAccessKey: 'deployed-fence-test-secret-key-000000000',
  arn: run.context.fenceRoleArns ?? '',
};

interface KeyPair {
  access_key_id: string;
  secret_access_key: string;
}

describe('Deployed: Secrets Manager rotates a MinIO key through the deployed function', () => {
  let minio: MinioServer;
  let ca: string;
  let deployment: EmulatedDeployment;
  let presign: FunctionContainer;
  let gateway: EmulatedApiGateway;
  let secretArn: string;
  let bucket: string;
  let parent: string;
  const sm = new SecretsManagerClient({});

  const adminClient = () =>
    new MinioAdminClient({
      endpoint: minio.endpoint,
      accessKey: minio.rootUser,
      secretKey: minio.rootPassword,
      caPem: ca,
    });
  const s3With = (key: KeyPair) =>
    new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.access_key_id, secretAccessKey: key.secret_access_key },
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca }) }),
    });
  /** Whether MinIO accepts the key pair right now. */
  const works = (key: KeyPair) =>
    s3With(key)
      .send(new ListObjectsV2Command({ Bucket: bucket }))
      .then(
        () => true,
        () => false,
      );
  const keyAt = async (stage: string): Promise<KeyPair> => {
    const answer = await sm.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: stage }));
    return JSON.parse(answer.SecretString ?? '{}') as KeyPair;
  };
  const stages = async (): Promise<Record<string, string[]>> =>
    (await sm.send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages ?? {};

  beforeAll(async () => {
    if (schedule === undefined || presignRoute === undefined) {
      throw new Error('the synthesized template has no rotation schedule or no presign route');
    }
    // MinIO over TLS with a private CA: the production shape (rotation refuses plain http).
    const certsDir = mkdtempSync(join(tmpdir(), 'fbb-minio-tls-'));
    writeSelfSignedCertificate(join(certsDir, 'private.key'), join(certsDir, 'public.crt'));
    ca = readFileSync(join(certsDir, 'public.crt'), 'utf8');
    minio = await startMinio({ certsDir });

    deployment = await deployToEmulators(
      template,
      { aws: endpoints.aws.moto, region },
      { id: uniqueName('rot'), lambdaFunctions: [schedule.rotationFunctionLogicalId] },
    );

    // The secret the context names (rotatedMinioSecrets), holding a first key of a MinIO user.
    bucket = uniqueName('rotated');
    parent = uniqueName('fence-parent');
    await s3With({ access_key_id: minio.rootUser, secret_access_key: minio.rootPassword }).send(
      new CreateBucketCommand({ Bucket: bucket }),
    );
    await s3With({ access_key_id: minio.rootUser, secret_access_key: minio.rootPassword }).send(
      new PutObjectCommand({ Bucket: bucket, Key: 'reads/object.txt', Body: 'still readable' }),
    );
    const admin = adminClient();
    await admin.addUser(parent, randomBytes(24).toString('base64url'));
    await admin.attachPolicies(parent, ['readwrite']);
    const first = {
      accessKey: `FBB${randomBytes(8).toString('hex').toUpperCase()}`.slice(0, 20),
      secretKey: randomBytes(30).toString('base64url'),
    };
    await admin.addServiceAccount({ targetUser: parent, ...first });
    const adminRef = `gen3/fence/admin/minio/${uniqueName('tls')}`;
    await sm.send(
      new CreateSecretCommand({
        Name: adminRef,
        SecretString: JSON.stringify({
          access_key_id: minio.rootUser,
          secret_access_key: minio.rootPassword,
        }),
      }),
    );
    const rotatedName = run.context.rotatedMinioSecrets ?? '';
    const created = await sm.send(
      new CreateSecretCommand({
        Name: rotatedName,
        SecretString: JSON.stringify({
          access_key_id: first.accessKey,
          secret_access_key: first.secretKey,
          minio_endpoint: minio.endpoint,
          minio_parent_user: parent,
          minio_admin_secret_ref: adminRef,
          minio_bucket: bucket,
          ca_bundle_pem: ca,
        }),
      }),
    );
    secretArn = String(created.ARN);

    // The template's RotationSchedule, applied as CloudFormation applies it.
    await sm.send(
      new RotateSecretCommand({
        // The template names the secret by its partial ARN (no random suffix), as CDK does.
        SecretId: String(template.resolve(schedule.secretId, deployment.physical)),
        RotationLambdaARN: deployment.functionArn(schedule.rotationFunctionLogicalId),
        RotationRules: { ScheduleExpression: schedule.scheduleExpression },
        RotateImmediately: schedule.rotateImmediatelyOnUpdate ?? true,
      }),
    );

    // The reader's path: the registry record, the presign function in its container, the API.
    const presignFunction = template.function(presignRoute.functionLogicalId);
    const environment = deployment.environment(presignRoute.functionLogicalId);
    await new DynamoDbBucketRegistry(environment.REGISTRY_TABLE_NAME ?? '').create(
      minioRegistration({
        bucket_name: bucket,
        secret_ref: secretArn,
        endpoint: minio.endpoint,
        allowed_ops: ['download'],
      }),
    );
    presign = await startFunctionContainer({
      image: run.images.runtime,
      assetDir: presignFunction.assetDir,
      handler: presignFunction.handler,
      environment,
      memoryMb: presignFunction.memorySize,
      timeoutSeconds: presignFunction.timeout,
    });
    gateway = await startApiGateway({
      template,
      invoke: (logicalId, event) => {
        if (logicalId !== presignRoute.functionLogicalId) throw new Error(`no container for ${logicalId}`);
        return presign.invoke(event);
      },
      callers: { [fence.accessKeyId]: { secretAccessKey: fence.secretAccessKey, arn: fence.arn } },
    });
  }, 300_000);

  afterAll(async () => {
    await gateway?.close();
    await presign?.stop();
    await deployment?.destroy();
    await minio?.process.stop();
    sm.destroy();
  }, 120_000);

  /** One read as Fence's users make it: a presigned GET, fetched from MinIO over TLS. */
  const readThroughBroker = async (): Promise<string> => {
    const answer = await callApi(gateway.url, fence, region, {
      method: 'POST',
      path: `v1/buckets/${bucket}/presign`,
      body: { key: 'reads/object.txt', method: 'GET', expires_in: 600 },
    });
    if (answer.status !== 200) throw new Error(`presign answered ${answer.status}`);
    const { url } = answer.body as { url: string };
    return fetchText(url, ca);
  };

  it('applies the template rotation schedule: rotation on, the key unchanged, nothing left pending', async () => {
    const description = await sm.send(new DescribeSecretCommand({ SecretId: secretArn }));
    expect(description.RotationEnabled).toBe(true);
    expect(description.RotationLambdaARN).toBe(
      deployment.functionArn(schedule?.rotationFunctionLogicalId ?? ''),
    );
    expect(
      Object.values(description.VersionIdsToStages ?? {})
        .flat()
        .sort(),
    ).toEqual(['AWSCURRENT']);
    expect(await readThroughBroker()).toBe('still readable');
  }, 120_000);

  it('rotates three times on RotateSecret alone while a reader through presigned URLs never fails', async () => {
    // Prepare: a reader that presigns and fetches until told to stop.
    const outcomes: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        outcomes.push(await readThroughBroker().catch((error: unknown) => `failed: ${String(error)}`));
      }
    })();
    const keys: KeyPair[] = [await keyAt('AWSCURRENT')];

    // Act: Secrets Manager's rotation, three times; each waits for the four steps (moto runs them inline).
    try {
      for (let round = 0; round < 3; round++) {
        const rotation = await sm.send(new RotateSecretCommand({ SecretId: secretArn }));
        const now = await stages();

        // Assess, right after each rotation: the token's version is current, the old one previous.
        expect(now[String(rotation.VersionId)]).toEqual(['AWSCURRENT']);
        const current = await keyAt('AWSCURRENT');
        expect(current.access_key_id).not.toBe(keys.at(-1)?.access_key_id);
        expect((await keyAt('AWSPREVIOUS')).access_key_id).toBe(keys.at(-1)?.access_key_id);
        expect(await works(current)).toBe(true);
        // Zero downtime: every earlier key still works within its grace.
        for (const earlier of keys) expect(await works(earlier)).toBe(true);
        keys.push(current);
      }
    } finally {
      reading = false;
      await reader;
    }

    // Assess: the reader read the whole time, and never failed.
    expect(outcomes.length).toBeGreaterThan(3);
    expect(outcomes.filter((outcome) => outcome !== 'still readable')).toEqual([]);
  }, 600_000);

  it('deletes a key that lost every label once its grace has passed, at the next rotation', async () => {
    // Prepare: the grace (cache TTL, stale window, URL lifetime, margin: over two hours here) is
    // stood for by moving the demotion stamps of the unlabelled keys three hours back.
    const admin = adminClient();
    const labelled = new Set(
      await Promise.all(
        ['AWSCURRENT', 'AWSPREVIOUS'].map(async (stage) => (await keyAt(stage)).access_key_id),
      ),
    );
    const retired = (await admin.listServiceAccounts(parent)).filter((key) => !labelled.has(key.accessKey));
    expect(retired.length).toBeGreaterThan(0);
    for (const key of retired) {
      const info = await admin.infoServiceAccount(key.accessKey);
      const tag = readManagedKeyTag(info.description);
      if (tag?.demotedAt === undefined)
        throw new Error(`key …${key.accessKey.slice(-4)} carries no demotion stamp`);
      await admin.updateServiceAccount(key.accessKey, {
        // The key's own inline policy goes back with the update (MinIO drops one left out).
        policy: info.impliedPolicy === true || info.policy === undefined ? null : JSON.parse(info.policy),
        description: writeManagedKeyTag({
          ...tag,
          demotedAt: new Date(tag.demotedAt.getTime() - 3 * 3600_000),
        }),
      });
    }
    const previous = await keyAt('AWSCURRENT');

    // Act
    await sm.send(new RotateSecretCommand({ SecretId: secretArn }));

    // Assess, right after: the retired keys are gone from MinIO and refused; the two labelled work.
    const remaining = new Set((await admin.listServiceAccounts(parent)).map((key) => key.accessKey));
    for (const key of retired) expect(remaining.has(key.accessKey)).toBe(false);
    expect((await keyAt('AWSPREVIOUS')).access_key_id).toBe(previous.access_key_id);
    expect(await works(previous)).toBe(true);
    expect(await works(await keyAt('AWSCURRENT'))).toBe(true);
    expect(await readThroughBroker()).toBe('still readable');
  }, 300_000);
});

/** GET over TLS trusting `ca`, the body as text; anything but 200 is an error. */
function fetchText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = request(url, { method: 'GET', ca, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode === 200) resolve(body);
        else reject(new Error(`GET answered ${response.statusCode}`));
      });
    });
    call.on('timeout', () => call.destroy(new Error('GET timed out')));
    call.on('error', reject);
    call.end();
  });
}
