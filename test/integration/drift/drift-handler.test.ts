/**
 * @secrets-manager-on-moto rotated secrets come from whole rotations (RotationDriver), which need AWS's
 * rotation semantics that moto_server.py gives moto (localstack-semantics.localstack.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import type { DriftRunSummary } from '../../../functions/drift-check/drift-handler';
import { DRIFT_METRICS } from '../../../functions/drift-check/drift-metrics';
import type { DriftReport } from '../../../functions/shared/drift/drift-results';
import { minioBucketWithUser } from '../support/admin-bed';
import { secretsManager, uniqueName } from '../support/aws';
import { createS3Bucket, driftBed, rotatedMinioBucket } from '../support/drift-bed';

const sm = secretsManager();

/** The EMF blobs among the output lines: metric name → value, with the dimensions of each. */
function emf(lines: string[]): { name: string; value: unknown; dimensions: Record<string, unknown> }[] {
  return lines.flatMap((line) => {
    const blob = JSON.parse(line) as Record<string, unknown> & {
      _aws?: { CloudWatchMetrics: { Metrics: { Name: string }[]; Dimensions: string[][] }[] };
    };
    const directive = blob._aws?.CloudWatchMetrics[0];
    if (directive === undefined) return [];
    const dimensions = Object.fromEntries((directive.Dimensions[0] ?? []).map((key) => [key, blob[key]]));
    return directive.Metrics.map((metric) => ({ name: metric.Name, value: blob[metric.Name], dimensions }));
  });
}

describe('Handler: drift-check Lambda entry (middy, Powertools, S3 report)', () => {
  it('checks every bucket, stores the report, logs each failing bucket and publishes metrics, with no secret anywhere', async () => {
    // Prepare: a rotated bucket, a static bucket, and one whose secret holds a wrong (canary) key.
    const bed = await driftBed();
    const rotated = await rotatedMinioBucket(bed.registry, sm);
    const adminArn = String(
      (await sm.send(new DescribeSecretCommand({ SecretId: rotated.secret.adminRef }))).ARN,
    );
    const store = await minioBucketWithUser();
    const wrongCanary = `canary-${randomBytes(16).toString('hex')}`;
    const register = async (bucket: string, secretKey: string) => {
      const secret = await sm.send(
        new CreateSecretCommand({
          Name: `gen3/fence/minio/${uniqueName(bucket)}`,
          SecretString: JSON.stringify({ access_key_id: store.accessKey, secret_access_key: secretKey }),
        }),
      );
      await bed.registry.create({
        bucket_name: bucket,
        provider: 'minio',
        auth_mode: 'static',
        secrets_backend: 'aws_sm',
        secret_ref: String(secret.ARN),
        endpoint: store.endpoint,
        allowed_ops: ['download'],
      });
    };
    await register(store.bucket, store.secretKey);
    const refused = uniqueName('refused');
    await register(refused, wrongCanary);
    const reportBucket = await createS3Bucket();
    Object.assign(process.env, {
      REGISTRY_TABLE_NAME: bed.tableName,
      DRIFT_REPORT_BUCKET: reportBucket,
      FENCE_MINIO_ADMIN_SECRET_ARNS: adminArn,
      FENCE_ALLOW_INSECURE_MINIO_HTTP: 'true',
      POWERTOOLS_SERVICE_NAME: 'fence-bucket-broker',
      POWERTOOLS_METRICS_NAMESPACE: 'FenceBucketBrokerTest',
    });
    // Everything written to stdout and stderr (Powertools writes warnings to stderr, EMF to stdout).
    const output: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk) => {
        output.push(String(chunk));
        return true;
      }),
    );

    // Act
    let summary: DriftRunSummary;
    try {
      const { handler } = await import('../../../functions/drift-check/handler');
      summary = await handler({}, { awsRequestId: 'req-drift', functionName: 'drift-check' } as Context);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const s3 = new S3Client({ forcePathStyle: true });
    const read = async (key: string) =>
      JSON.parse(
        String(
          await (
            await s3.send(new GetObjectCommand({ Bucket: reportBucket, Key: key }))
          ).Body?.transformToString(),
        ),
      ) as DriftReport;
    const latest = await read('reports/latest.json');
    const dated = await read(`reports/${latest.started_at}.json`);

    // Assess: the answer and the stored report.
    expect(summary.totals).toEqual({ buckets: 3, passed: 2, failed: 1, suspended: 0 });
    expect(summary.report_keys).toEqual([`reports/${latest.started_at}.json`, 'reports/latest.json']);
    expect(dated).toEqual(latest);
    expect(latest.results.map((result) => [result.bucket, result.status])).toEqual(
      [
        [rotated.record.bucket_name, 'passed'],
        [store.bucket, 'passed'],
        [refused, 'failed'],
      ].sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
    // The logs: one warning for the failing bucket, with its reason.
    const lines = output
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'));
    const warnings = lines.map((line) => JSON.parse(line)).filter((line) => line.message === 'drift');
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 'WARN',
        bucket: refused,
        failed: [
          {
            name: 'bucket_access',
            ok: false,
            message: expect.stringMatching(/^credentials_rejected: the store refused the credentials/),
          },
        ],
      }),
    ]);
    // The metrics: overall, and per check (zeros included).
    const metrics = emf(lines);
    expect(metrics).toEqual(
      expect.arrayContaining([
        { name: DRIFT_METRICS.bucketsFailed, value: 1, dimensions: { service: 'fence-bucket-broker' } },
        { name: DRIFT_METRICS.bucketsPassed, value: 2, dimensions: { service: 'fence-bucket-broker' } },
        {
          name: DRIFT_METRICS.checkFailures,
          value: 1,
          dimensions: { service: 'fence-bucket-broker', Check: 'bucket_access' },
        },
        {
          name: DRIFT_METRICS.checkFailures,
          value: 0,
          dimensions: { service: 'fence-bucket-broker', Check: 'kms_key' },
        },
      ]),
    );
    // Canaries: no secret value in the report, the logs or the metrics.
    const admin = JSON.parse(
      String(
        (await sm.send(new GetSecretValueCommand({ SecretId: adminArn, VersionStage: 'AWSCURRENT' })))
          .SecretString,
      ),
    ) as { secret_access_key: string };
    const written = `${output.join('')}${JSON.stringify(latest)}`;
    for (const secretValue of [
      wrongCanary,
      store.secretKey,
      rotated.secret.first.secretKey,
      admin.secret_access_key,
    ]) {
      expect(written).not.toContain(secretValue);
    }
  }, 180_000);
});
