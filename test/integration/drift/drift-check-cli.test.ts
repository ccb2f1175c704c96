/**
 * @secrets-manager-on-moto rotated secrets come from whole rotations (RotationDriver), which need AWS's
 * rotation semantics that moto_server.py gives moto (localstack-semantics.localstack.test.ts).
 */
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { runCli } from '../../../functions/cli/program';
import { S3DriftReportStore } from '../../../functions/shared/drift/drift-report-store';
import type { DriftReport } from '../../../functions/shared/drift/drift-results';
import { secretsManager } from '../support/aws';
import { createS3Bucket, driftBed, type RotatedBucket, rotatedMinioBucket } from '../support/drift-bed';

const sm = secretsManager();

/** Runs the CLI in this process with captured output. */
async function cli(args: string[], env: NodeJS.ProcessEnv) {
  let out = '';
  let err = '';
  const code = await runCli(
    args,
    { out: (text) => (out += text), err: (text) => (err += text), interactive: false, stdin: async () => '' },
    { ...process.env, ...env },
  );
  return { code, out, err };
}

describe('CLI: fence-buckets drift-check (in process on moto + MinIO)', () => {
  let bed: Awaited<ReturnType<typeof driftBed>>;
  let healthy: RotatedBucket;
  let disabled: RotatedBucket;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    bed = await driftBed();
    [healthy, disabled] = [
      await rotatedMinioBucket(bed.registry, sm),
      await rotatedMinioBucket(bed.registry, sm),
    ];
    await new KMSClient({}).send(new DisableKeyCommand({ KeyId: disabled.keyId }));
    env = { FENCE_ALLOW_INSECURE_MINIO_HTTP: 'true' };
  }, 120_000);

  it('passes a healthy bucket with exit code 0; --json prints the report', async () => {
    // Act
    const run = await cli(
      ['--table', bed.tableName, '--json', 'drift-check', '--bucket', healthy.record.bucket_name],
      env,
    );

    // Assess
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out) as DriftReport;
    expect(report).toMatchObject({
      scope: 'named',
      totals: { buckets: 1, passed: 1, failed: 0, suspended: 0 },
    });
    expect(report.results[0]?.checks.map((check) => check.name)).toEqual([
      'secret',
      'secret_shape',
      'bucket_access',
      'kms_key',
      'resource_policy',
      'url_lifetime',
      'rotation',
      'managed_keys',
    ]);
  }, 60_000);

  it('prints a table of the failing buckets with each reason, and exits 1', async () => {
    // Act
    const run = await cli(
      [
        '--table',
        bed.tableName,
        'drift-check',
        '--bucket',
        healthy.record.bucket_name,
        '--bucket',
        disabled.record.bucket_name,
        '--concurrency',
        '2',
      ],
      env,
    );

    // Assess
    expect(run.code).toBe(1);
    expect(run.out).toContain(disabled.record.bucket_name);
    expect(run.out).toContain('kms_key');
    expect(run.out).toContain('is Disabled: Secrets Manager cannot decrypt the secret');
    expect(run.out).not.toContain(healthy.record.bucket_name);
    expect(run.out).toMatch(
      /1 of 2 bucket\(s\) passed, 1 failed, 0 suspended \(not checked\); run of \S+, \d+\.\d s\n$/,
    );
  }, 60_000);

  it('shows the last stored result per bucket with --last --report-bucket, failing or not', async () => {
    // Prepare: a stored report, as the scheduled Lambda leaves it.
    const reportBucket = await createS3Bucket();
    const report = await bed.drift().run({
      buckets: [healthy.record.bucket_name, disabled.record.bucket_name],
      concurrency: 2,
      checkTimeoutMs: 10_000,
    });
    await new S3DriftReportStore(reportBucket).save(report);

    // Act
    const one = await cli(
      [
        '--json',
        'drift-check',
        '--last',
        '--report-bucket',
        reportBucket,
        '--bucket',
        healthy.record.bucket_name,
      ],
      env,
    );
    const all = await cli(['drift-check', '--last', '--report-bucket', reportBucket], env);
    const unknown = await cli(
      ['drift-check', '--last', '--report-bucket', reportBucket, '--bucket', 'never-checked'],
      env,
    );
    const empty = await cli(['drift-check', '--last', '--report-bucket', await createS3Bucket()], env);

    // Assess
    expect(one.code).toBe(0);
    expect(JSON.parse(one.out)).toMatchObject({
      started_at: report.started_at,
      totals: { buckets: 1, passed: 1 },
      results: [{ bucket: healthy.record.bucket_name, status: 'passed' }],
    });
    expect(all.code).toBe(1);
    expect(all.out).toContain(disabled.record.bucket_name);
    expect(all.out).toContain(`run of ${report.started_at}`);
    expect(unknown).toMatchObject({
      code: 1,
      err: expect.stringContaining('unknown_bucket: the last drift report'),
    });
    expect(empty).toMatchObject({
      code: 1,
      err: expect.stringContaining('no_drift_report: no drift report in s3://'),
    });
  }, 60_000);

  it('refuses usage mistakes with exit code 2', async () => {
    const runs = await Promise.all([
      cli(['drift-check', '--last'], env),
      cli(['--table', bed.tableName, 'drift-check', '--report-bucket', 'b'], env),
      cli(['--api', 'http://127.0.0.1:1', 'drift-check'], env),
      cli(['drift-check'], { ...env, REGISTRY_TABLE_NAME: '' }),
      cli(['--table', bed.tableName, 'drift-check', '--concurrency', '0'], env),
    ]);
    expect(runs.map((run) => run.code)).toEqual([2, 2, 2, 2, 2]);
    expect(runs[0]?.err).toContain('--last needs --report-bucket');
    expect(runs[3]?.err).toContain('name the registry table');
  });
});
