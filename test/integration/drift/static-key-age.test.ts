/**
 * @secrets-manager-on-moto rotated secrets come from whole rotations (RotationDriver), which need AWS's
 * rotation semantics and version creation dates (ListSecretVersionIds) that moto_server.py gives moto.
 */
import { randomBytes } from 'node:crypto';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { runCli } from '../../../functions/cli/program';
import { publishDriftMetrics } from '../../../functions/drift-check/drift-handler';
import { DRIFT_METRICS } from '../../../functions/drift-check/drift-metrics';
import type { DriftBucketResult, DriftReport } from '../../../functions/shared/drift/drift-results';
import { IAM_ROTATION_TAG } from '../../../functions/shared/rotation/iam-rotation-secret';
import type { RotationEvent } from '../../../functions/shared/rotation/minio-key-rotation';
import { secretsManager } from '../support/aws';
import { awsKeyBucket } from '../support/aws-key-bucket';
import { driftBed } from '../support/drift-bed';
import { RotationDriver } from '../support/rotation-driver';

const sm = secretsManager();
const DAY_MS = 86_400_000;

function verdicts(result: DriftBucketResult | undefined): Record<string, boolean> {
  return Object.fromEntries((result?.checks ?? []).map((check) => [check.name, check.ok]));
}

function message(result: DriftBucketResult | undefined, name: string): string {
  return result?.checks.find((check) => check.name === name)?.message ?? `(no ${name} check)`;
}

/**
 * Secrets Manager's side of one rotation with a stand-in for the IAM-key rotation function (this
 * file tests the drift check, which reads only Secrets Manager's rotation state): a new key pair
 * as AWSPENDING, then AWSCURRENT moved to it.
 */
async function rotateOnce(client: SecretsManagerClient, arn: string, everyDays: number): Promise<void> {
  const step = async (event: RotationEvent) => {
    const versions = (await client.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages;
    const current = Object.entries(versions ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    if (event.Step === 'createSecret') {
      await client.send(
        new PutSecretValueCommand({
          SecretId: arn,
          ClientRequestToken: event.ClientRequestToken,
          VersionStages: ['AWSPENDING'],
          // The same metadata (iam_user_name, region), a new key pair.
          SecretString: JSON.stringify({
            ...JSON.parse(
              String(
                (await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' })))
                  .SecretString,
              ),
            ),
            access_key_id: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
            secret_access_key: randomBytes(30).toString('base64url'),
          }),
        }),
      );
    }
    if (event.Step === 'finishSecret' && current !== event.ClientRequestToken) {
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: event.ClientRequestToken,
          RemoveFromVersionId: current,
        }),
      );
    }
  };
  await new RotationDriver(client, step).rotate(arn, { rules: { AutomaticallyAfterDays: everyDays } });
}

/** When the version labelled AWSCURRENT was created, as moto reports it (the clocks start there). */
async function currentCreated(arn: string): Promise<Date> {
  const versions = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: arn }))).Versions;
  const current = versions?.find((version) => version.VersionStages?.includes('AWSCURRENT'));
  return current?.CreatedDate ?? new Date(Number.NaN);
}

describe('DriftCheck: old static AWS keys and overdue rotations (moto Secrets Manager and S3)', () => {
  let bed: Awaited<ReturnType<typeof driftBed>>;
  const runAt = (buckets: string[], at: Date, drift = bed.drift) =>
    drift({ clock: () => at, registry: bed.registry }).run({
      buckets,
      concurrency: 2,
      checkTimeoutMs: 10_000,
    });

  beforeAll(async () => {
    bed = await driftBed();
  });

  it('fails key_age for a static AWS key without rotation older than DRIFT_MAX_STATIC_KEY_AGE_DAYS (90 by default), naming the secret and the age, never the key', async () => {
    // Prepare: the runs' clocks count from the version's creation date as moto reports it.
    const aws = await awsKeyBucket(bed.registry);
    const created = await currentCreated(aws.arn);
    const daysAfter = (days: number) => new Date(created.getTime() + days * DAY_MS + 60_000);
    const lenient = await driftBed({ DRIFT_MAX_STATIC_KEY_AGE_DAYS: '120' });

    // Act
    const young = (await runAt([aws.bucket], daysAfter(89))).results[0];
    const old = (await runAt([aws.bucket], daysAfter(91))).results[0];
    const allowed = (await runAt([aws.bucket], daysAfter(91), lenient.drift)).results[0];

    // Assess
    expect(young?.status).toBe('passed');
    expect(verdicts(young)).toEqual({
      secret: true,
      secret_shape: true,
      bucket_access: true,
      kms_key: true,
      resource_policy: true,
      key_age: true,
    });
    expect(message(young, 'key_age')).toBe(
      `the static AWS key …${aws.key.access_key_id.slice(-4)} was stored 89 day(s) ago (limit 90); rotation is not enabled`,
    );
    expect(old?.status).toBe('failed');
    expect(verdicts(old)).toMatchObject({ bucket_access: true, key_age: false });
    expect(message(old, 'key_age')).toBe(
      `${aws.name} holds the static AWS key …${aws.key.access_key_id.slice(-4)}, stored ${created.toISOString()}, 91 days ago: older than the 90-day limit (DRIFT_MAX_STATIC_KEY_AGE_DAYS), and rotation is not enabled: enable IAM-key rotation on the secret, or replace the key`,
    );
    expect(verdicts(allowed)).toMatchObject({ key_age: true });
    expect(message(allowed, 'key_age')).toContain('91 day(s) ago (limit 120)');
    const report = JSON.stringify(old);
    expect(report).not.toContain(aws.key.secret_access_key);
    expect(report).not.toContain(aws.key.access_key_id);
  }, 120_000);

  it('passes key_age for an old key whose secret has rotation enabled, and holds it to its schedule instead', async () => {
    // Prepare: rotated once, every 180 days; the run is 100 days after that rotation.
    const aws = await awsKeyBucket(bed.registry);
    await rotateOnce(sm, aws.arn, 180);
    const rotated = (await sm.send(new DescribeSecretCommand({ SecretId: aws.arn }))).LastRotatedDate;
    const at = new Date((rotated ?? new Date(Number.NaN)).getTime() + 100 * DAY_MS);

    // Act
    const result = (await runAt([aws.bucket], at)).results[0];

    // Assess
    expect(result?.status).toBe('passed');
    expect(verdicts(result)).toMatchObject({ bucket_access: true, key_age: true, rotation: true });
    expect(message(result, 'key_age')).toBe(
      `rotation is enabled on ${aws.name}: its key changes with each rotation`,
    );
    expect(message(result, 'rotation')).toMatch(/^rotation enabled, every 180 days; last rotated /);
  }, 120_000);

  it('fails rotation for an IAM-rotated secret whose last rotation is overdue, and passes it on schedule', async () => {
    // Prepare: an IAM-rotated secret (iam_user_name and the tag), rotated once, every 30 days.
    const aws = await awsKeyBucket(bed.registry, { iamUser: 'gen3-reader' });
    await rotateOnce(sm, aws.arn, 30);
    const rotated = (await sm.send(new DescribeSecretCommand({ SecretId: aws.arn }))).LastRotatedDate;
    const daysOn = (days: number) => new Date((rotated ?? new Date(Number.NaN)).getTime() + days * DAY_MS);

    // Act
    const onTime = (await runAt([aws.bucket], daysOn(20))).results[0];
    const overdue = (await runAt([aws.bucket], daysOn(32))).results[0];

    // Assess
    expect(onTime?.status).toBe('passed');
    expect(verdicts(onTime)).toMatchObject({ key_age: true, url_lifetime: true, rotation: true });
    expect(overdue?.status).toBe('failed');
    expect(verdicts(overdue)).toMatchObject({ bucket_access: true, key_age: true, rotation: false });
    expect(message(overdue, 'rotation')).toBe(
      `${aws.name} was last rotated ${rotated?.toISOString()}, 32 days ago; rotating every 30 days (window 24 h) it should have rotated since: see the rotation function's RotationStepFailed`,
    );
  }, 120_000);

  it('fails rotation for a secret marked for IAM-key rotation (by tag or iam_user_name) on which rotation is not enabled', async () => {
    // Prepare
    const named = await awsKeyBucket(bed.registry, { iamUser: 'gen3-reader' });
    const tagged = await awsKeyBucket(bed.registry, { iamUser: 'gen3-reader', tagOnly: true });

    // Act
    const report = await runAt([named.bucket, tagged.bucket], new Date());

    // Assess
    const byName = Object.fromEntries(report.results.map((result) => [result.bucket, result]));
    expect(verdicts(byName[named.bucket])).toMatchObject({ key_age: true, rotation: false });
    expect(message(byName[named.bucket], 'rotation')).toBe(
      `rotation is not enabled on ${named.name}, an IAM-rotated secret (it names iam_user_name): its keys no longer change`,
    );
    expect(message(byName[tagged.bucket], 'rotation')).toBe(
      `rotation is not enabled on ${tagged.name}, an IAM-rotated secret (it carries the tag fence-bucket-broker:rotation=iam-user-key): its keys no longer change`,
    );
  }, 120_000);

  it('fails rotation for a tagged secret under rotation that does not name iam_user_name: the IAM-key rotation cannot rotate it', async () => {
    // Prepare: a plain key under rotation, then tagged for IAM-key rotation.
    const aws = await awsKeyBucket(bed.registry);
    await rotateOnce(sm, aws.arn, 30);
    await sm.send(
      new TagResourceCommand({
        SecretId: aws.arn,
        Tags: [{ Key: IAM_ROTATION_TAG.key, Value: IAM_ROTATION_TAG.value }],
      }),
    );

    // Act
    const result = (await runAt([aws.bucket], new Date())).results[0];

    // Assess
    expect(verdicts(result)).toMatchObject({ bucket_access: true, key_age: true, rotation: false });
    expect(message(result, 'rotation')).toBe(
      `bucket_misconfigured: secret ${aws.name}: field "iam_user_name" is required`,
    );
  }, 120_000);

  it('counts key_age failures in DriftCheckFailures (Check=key_age), the metric the dashboard and alarm read', async () => {
    // Prepare: one old key (a run 91 days on) and its metrics as Powertools writes them (EMF).
    const aws = await awsKeyBucket(bed.registry);
    const at = new Date((await currentCreated(aws.arn)).getTime() + 91 * DAY_MS + 60_000);
    const report: DriftReport = await runAt([aws.bucket], at);
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });

    // Act
    try {
      const metrics = new Metrics({ namespace: 'FenceBucketBrokerTest', serviceName: 'fence-bucket-broker' });
      publishDriftMetrics(metrics, report);
      metrics.publishStoredMetrics();
    } finally {
      spy.mockRestore();
    }

    // Assess
    const perCheck = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((blob) => blob[DRIFT_METRICS.checkDimension] !== undefined)
      .map((blob) => [blob[DRIFT_METRICS.checkDimension], blob[DRIFT_METRICS.checkFailures]]);
    expect(perCheck).toContainEqual(['key_age', 1]);
    expect(perCheck).toContainEqual(['rotation', 0]);
    expect(report.totals).toMatchObject({ failed: 1 });
  }, 120_000);

  it('shows both in fence-buckets drift-check: the failing rotation in the table (exit 1), key_age in --json', async () => {
    // Prepare
    const plain = await awsKeyBucket(bed.registry);
    const marked = await awsKeyBucket(bed.registry, { iamUser: 'gen3-reader' });
    const cli = async (args: string[]) => {
      let out = '';
      const code = await runCli(
        ['--table', bed.tableName, ...args],
        { out: (text) => (out += text), err: () => undefined, interactive: false, stdin: async () => '' },
        { ...process.env, FENCE_ALLOW_INSECURE_MINIO_HTTP: 'true' },
      );
      return { code, out };
    };

    // Act
    const table = await cli(['drift-check', '--bucket', plain.bucket, '--bucket', marked.bucket]);
    const json = await cli(['--json', 'drift-check', '--bucket', plain.bucket]);

    // Assess
    expect(table.code).toBe(1);
    expect(table.out).toContain(marked.bucket);
    expect(table.out).toContain('rotation');
    expect(table.out).toContain(`an IAM-rotated secret (it names iam_user_name)`);
    expect(table.out).toMatch(/1 of 2 bucket\(s\) passed, 1 failed/);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out) as DriftReport;
    expect(report.results[0]?.checks).toContainEqual({
      name: 'key_age',
      ok: true,
      message: `the static AWS key …${plain.key.access_key_id.slice(-4)} was stored 0 day(s) ago (limit 90); rotation is not enabled`,
    });
  }, 120_000);
});
