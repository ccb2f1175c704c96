/**
 * @sts-on-moto the role bucket's check assumes a role whose trust policy needs an external id,
 * which moto_server.py makes moto's STS enforce.
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DRIFT_METRICS } from '../../functions/drift-check/drift-metrics';
import type { DriftReport } from '../../functions/shared/drift/drift-results';
import type { BucketRecord } from '../../functions/shared/registry/bucket-record';
import { DynamoDbBucketRegistry } from '../../functions/shared/registry/dynamodb-bucket-registry';
import { PostgresBucketRegistry } from '../../functions/shared/registry/postgres-bucket-registry';
import { DELETE_CAP_EXCEEDED } from '../../functions/shared/registry/registry-sync';
import { minioRegistration, roleRegistration } from '../fixtures/bucket-records';
import { readEndpoints } from '../integration/services/endpoints';
import { createRoleRequiringExternalId, minioRootClient, uniqueName } from '../integration/support/aws';
import { cli } from '../integration/support/cli';
import { readDeployedRun, readRunTemplate } from './services/deployed-run';
import {
  INIT_FAILURES,
  RUNTIME_CA_BUNDLE,
  scheduledInvocation,
  startDeployedFunction,
} from './support/deployed-functions';
import type { DeployedSchedule } from './support/deployed-template';
import { deployToEmulators, type EmulatedDeployment } from './support/emulated-deployment';
import { type FunctionContainer, startFunctionContainer } from './support/lambda-container';

/*
 * The scheduled functions as EventBridge invokes them: for each schedule rule of the run's
 * template, its target function in its container (the template's environment, resolved against
 * a fresh emulated deployment) gets the payload EventBridge sends when the rule fires. The drift
 * check writes its report to the deployment's bucket on moto's S3 with EMF metrics on stdout;
 * the sync mirrors the run's PostgreSQL Fence DB (TLS, verified against the CA the runtime's
 * bundle stands for) into the deployment's registry table, its DB secret read through
 * `@middy/secrets-manager` from moto.
 */

const run = readDeployedRun();
const endpoints = readEndpoints();
const template = readRunTemplate(run);
const region = endpoints.aws.region;

type Kind = 'drift' | 'sync';

/** What a scheduled function is, read from the environment the template gives it. */
function kindOf(schedule: DeployedSchedule): Kind {
  const [target, ...others] = schedule.targets;
  if (target === undefined || others.length > 0) {
    throw new Error(
      `${schedule.ruleLogicalId}: expected one target, the template has ${schedule.targets.length}`,
    );
  }
  const environment = template.function(target.functionLogicalId).environment;
  if ('DRIFT_REPORT_BUCKET' in environment) return 'drift';
  if ('FENCE_DB_SECRET_ARN' in environment) return 'sync';
  throw new Error(
    `${schedule.ruleLogicalId} targets ${target.functionLogicalId}, which this test does not know`,
  );
}

function scheduleOf(kind: Kind) {
  const schedule = template.schedules.find((candidate) => kindOf(candidate) === kind);
  const target = schedule?.targets[0];
  if (schedule === undefined || target === undefined) throw new Error(`the template has no ${kind} schedule`);
  return { schedule, target, fn: template.function(target.functionLogicalId) };
}

/** The EMF documents (Powertools' metrics) among the container's output lines. */
function emfDocuments(
  logs: string,
): { namespace: string; metrics: string[]; document: Record<string, unknown> }[] {
  return logs.split('\n').flatMap((line) => {
    if (!line.startsWith('{') || !line.includes('"_aws"')) return [];
    const document = JSON.parse(line) as {
      _aws?: { CloudWatchMetrics?: { Namespace: string; Metrics: { Name: string }[] }[] };
    };
    return (document._aws?.CloudWatchMetrics ?? []).map((directive) => ({
      namespace: directive.Namespace,
      metrics: directive.Metrics.map((metric) => metric.Name),
      document: document as Record<string, unknown>,
    }));
  });
}

describe('Deployed: the scheduled functions as EventBridge invokes them', () => {
  let deployment: EmulatedDeployment;
  let deploymentId: string;
  const containers: FunctionContainer[] = [];
  const s3 = new S3Client({ forcePathStyle: true });
  const sm = new SecretsManagerClient({});

  beforeAll(async () => {
    deploymentId = uniqueName('sched');
    deployment = await deployToEmulators(template, { aws: endpoints.aws.moto, region }, { id: deploymentId });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(containers.map((container) => container.stop()));
    await deployment?.destroy();
    s3.destroy();
    sm.destroy();
  }, 120_000);

  /** The payload EventBridge sends when the rule fires (the rule named as CloudFormation would). */
  const firing = (schedule: DeployedSchedule) =>
    scheduledInvocation(
      template,
      schedule,
      schedule.targets[0] ?? { functionLogicalId: '' },
      `${deploymentId}-${schedule.ruleLogicalId}`,
    );

  it('has an enabled rule with one known target for every schedule of the template', () => {
    expect(template.schedules.map(kindOf).sort()).toEqual(['drift', 'sync']);
    for (const schedule of template.schedules) expect(schedule.state).toBe('ENABLED');
  });

  it('drift check: writes the report of the registered buckets to its bucket, with EMF metrics on stdout', async () => {
    // Prepare: a healthy static MinIO bucket on the run's MinIO (its keys in a secret under the
    // prefix), a healthy role bucket (moto's STS and S3), and a role bucket whose external id the
    // role refuses: one finding.
    const { schedule, fn } = scheduleOf('drift');
    const environment = deployment.environment(fn.logicalId);
    const registry = new DynamoDbBucketRegistry(environment.REGISTRY_TABLE_NAME ?? '');
    const minioBucket = uniqueName('drift-minio');
    await minioRootClient(endpoints.minio).send(new CreateBucketCommand({ Bucket: minioBucket }));
    const secret = await sm.send(
      new CreateSecretCommand({
        Name: `gen3/fence/minio/${minioBucket}`,
        SecretString: JSON.stringify({
          access_key_id: endpoints.minio.rootUser,
          secret_access_key: endpoints.minio.rootPassword,
        }),
      }),
    );
    const minio = await registry.create(
      minioRegistration({
        bucket_name: minioBucket,
        secret_ref: String(secret.ARN),
        endpoint: endpoints.minio.endpoint,
        allowed_ops: ['download'],
      }),
    );
    const roleArn = await createRoleRequiringExternalId('drift-external-id');
    const [roleBucket, refusedBucket] = [uniqueName('drift-role'), uniqueName('drift-refused')];
    await s3.send(new CreateBucketCommand({ Bucket: roleBucket }));
    await s3.send(new CreateBucketCommand({ Bucket: refusedBucket }));
    const role = await registry.create(
      roleRegistration({ bucket_name: roleBucket, role_arn: roleArn, external_id: 'drift-external-id' }),
    );
    const refused = await registry.create(
      roleRegistration({ bucket_name: refusedBucket, role_arn: roleArn, external_id: 'not-the-one' }),
    );
    const container = await startDeployedFunction(run, fn, environment);
    containers.push(container);

    // Act
    const answer = await container.invoke(firing(schedule));

    // Assess, right after: the run's summary, then the report it stored in the deployment's bucket.
    expect(answer.functionError).toBeUndefined();
    const summary = answer.payload as { totals: DriftReport['totals']; report_keys: string[] };
    expect(summary.totals).toEqual({ buckets: 3, passed: 2, failed: 1, suspended: 0 });
    expect(summary.report_keys).toEqual([
      expect.stringMatching(/^reports\/.+\.json$/),
      'reports/latest.json',
    ]);
    const stored = await s3.send(
      new GetObjectCommand({ Bucket: environment.DRIFT_REPORT_BUCKET, Key: summary.report_keys[0] }),
    );
    const report = JSON.parse(await (stored.Body?.transformToString() ?? '{}')) as DriftReport;
    expect(report.totals).toEqual(summary.totals);
    const byName = Object.fromEntries(report.results.map((result) => [result.bucket, result]));
    expect(byName[minioBucket]).toMatchObject({ id: minio.id, status: 'passed' });
    expect(byName[minioBucket]?.checks.filter((check) => !check.ok)).toEqual([]);
    expect(byName[minioBucket]?.checks.map((check) => check.name)).toEqual(
      expect.arrayContaining(['secret', 'secret_shape', 'bucket_access']),
    );
    expect(byName[roleBucket]).toMatchObject({
      id: role.id,
      status: 'passed',
      checks: [{ name: 'bucket_access', ok: true }],
    });
    expect(byName[refusedBucket]).toMatchObject({
      id: refused.id,
      status: 'failed',
      checks: [
        {
          name: 'bucket_access',
          ok: false,
          message: `credentials_rejected: STS refused to assume ${roleArn}`,
        },
      ],
    });

    // Assess: Powertools' EMF on stdout, in the namespace the template sets.
    const logs = await container.logs();
    expect(logs).not.toMatch(INIT_FAILURES);
    const emf = emfDocuments(logs);
    expect(emf.length).toBeGreaterThan(0);
    for (const document of emf) expect(document.namespace).toBe(environment.POWERTOOLS_METRICS_NAMESPACE);
    expect(environment.POWERTOOLS_METRICS_NAMESPACE).toBe('FenceBucketBroker');
    const overall = emf.flatMap((document) => document.metrics);
    expect(overall).toEqual(
      expect.arrayContaining([
        DRIFT_METRICS.runs,
        DRIFT_METRICS.bucketsPassed,
        DRIFT_METRICS.bucketsFailed,
        DRIFT_METRICS.checkFailures,
      ]),
    );
  }, 300_000);

  describe('registry sync', () => {
    let record: BucketRecord;

    beforeAll(async () => {
      // Fence DB's schema, applied as the README has operators apply it, and one bucket row there.
      const migrated = await cli(['db', 'migrate'], { FENCE_DB_URL: endpoints.postgresUrl });
      if (migrated.code !== 0) throw new Error(`fence-buckets db migrate failed: ${migrated.err}`);
      const fenceDb = PostgresBucketRegistry.connect({ connectionString: endpoints.postgresUrl });
      try {
        record = await fenceDb.create(roleRegistration({ bucket_name: uniqueName('synced') }));
      } finally {
        await fenceDb.close();
      }
    }, 120_000);

    it('mirrors the Fence DB row into the registry table, its DB secret read from Secrets Manager, TLS verified', async () => {
      // Prepare: the function as deployed: the connection only in the secret the template names,
      // TLS verified against the runtime's CA bundle (the run's Fence DB CA stands for RDS's).
      const { schedule, fn } = scheduleOf('sync');
      const environment = deployment.environment(fn.logicalId);
      expect(environment).toMatchObject({
        FENCE_DB_SECRET_ARN: run.secrets.fenceDbArn,
        FENCE_DB_SSL: 'verify',
        NODE_EXTRA_CA_CERTS: RUNTIME_CA_BUNDLE,
      });
      const tableName = environment.REGISTRY_TABLE_NAME ?? '';
      const table = new DynamoDbBucketRegistry(tableName);
      expect(await table.getByName(record.bucket_name)).toBeUndefined();
      // Two items only the table has (as other tests leave there): more than one run may delete
      // (10 % of the mirror, at least one), so the sync must hold back every such delete.
      for (const name of [uniqueName('table-only'), uniqueName('table-only')])
        await table.create(roleRegistration({ bucket_name: name }));
      const tableOnly: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await table.list({ limit: 100, cursor });
        tableOnly.push(...page.records.map((item) => item.bucket_name));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(tableOnly.length).toBeGreaterThanOrEqual(2);
      const container = await startDeployedFunction(run, fn, environment);
      containers.push(container);

      // Act
      const answer = await container.invoke(firing(schedule));

      // Assess, right after: the run's summary, the record in the table, the held-back deletes
      // (each one a failure, none deleted), the metrics.
      expect(answer.functionError).toBeUndefined();
      expect(answer.payload).toMatchObject({
        dry_run: false,
        failed: tableOnly.length,
        deleted: 0,
        inserted: expect.any(Number),
      });
      expect((answer.payload as { inserted: number }).inserted).toBeGreaterThanOrEqual(1);
      for (const name of tableOnly)
        expect({ name, kept: (await table.getByName(name)) !== undefined }).toEqual({ name, kept: true });
      const mirrored = await new DynamoDbBucketRegistry(tableName).getByName(record.bucket_name);
      expect(mirrored).toMatchObject({
        id: record.id,
        bucket_name: record.bucket_name,
        revision: record.revision,
        auth_mode: 'role',
        role_arn: record.role_arn,
      });
      const logs = await container.logs();
      expect(logs).not.toMatch(INIT_FAILURES);
      const emf = emfDocuments(logs);
      expect(emf.map((document) => document.namespace)).toContain(environment.POWERTOOLS_METRICS_NAMESPACE);
      expect(emf.flatMap((document) => document.metrics)).toEqual(
        expect.arrayContaining(['RegistrySyncInserted', 'RegistrySyncDeletesHeldBack']),
      );
      expect(logs).toContain(DELETE_CAP_EXCEEDED);
    }, 300_000);

    it('refuses Fence DB when the runtime bundle lacks its CA (TLS is verified, not merely on)', async () => {
      // Prepare: the same function and environment, without the CA at /var/runtime/ca-cert.pem.
      const { schedule, fn } = scheduleOf('sync');
      const container = await startFunctionContainer({
        image: run.images.runtime,
        assetDir: fn.assetDir,
        handler: fn.handler,
        environment: deployment.environment(fn.logicalId),
        memoryMb: fn.memorySize,
        timeoutSeconds: fn.timeout,
        name: 'sync-without-ca',
      });
      containers.push(container);

      // Act
      const answer = await container.invoke(firing(schedule));

      // Assess: the run fails on the certificate (Node's code for an untrusted self-signed one).
      expect(answer).toEqual({
        functionError: 'Unhandled',
        payload: expect.objectContaining({
          errorMessage: expect.stringContaining('DEPTH_ZERO_SELF_SIGNED_CERT'),
        }),
      });
    }, 300_000);
  });
});
