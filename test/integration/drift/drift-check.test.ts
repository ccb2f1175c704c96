/**
 * @secrets-manager-on-moto rotated secrets come from whole rotations (RotationDriver), which need AWS's
 * rotation semantics that moto_server.py gives moto; LocalStack refuses RotateSecret without the
 * rotation Lambda (localstack-semantics.localstack.test.ts).
 * @sts-on-moto the role bucket with a wrong external id must be refused by STS, as AWS does and
 * moto_server.py makes moto do; LocalStack's STS assumes it anyway.
 */
import { randomBytes } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutResourcePolicyCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DriftBucketResult, DriftReport } from '../../../functions/shared/drift/drift-results';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { secretArnHash, writeManagedKeyTag } from '../../../functions/shared/rotation/managed-key-tag';
import { readEndpoints } from '../services/endpoints';
import { createRoleRequiringExternalId, dynamoDb, secretsManager, uniqueName } from '../support/aws';
import { createS3Bucket, driftBed, type RotatedBucket, rotatedMinioBucket } from '../support/drift-bed';
import { HungServer } from '../support/hung-server';
import { keyAt } from '../support/rotation-fixture';

const sm = secretsManager();
const { minio } = readEndpoints();
const root = new MinioAdminClient({
  endpoint: minio.endpoint,
  accessKey: minio.rootUser,
  secretKey: minio.rootPassword,
});

/** The verdict of each check of one bucket, by name. */
function verdicts(result: DriftBucketResult | undefined): Record<string, boolean> {
  return Object.fromEntries((result?.checks ?? []).map((check) => [check.name, check.ok]));
}

function message(result: DriftBucketResult | undefined, name: string): string {
  return result?.checks.find((check) => check.name === name)?.message ?? `(no ${name} check)`;
}

describe('Class: DriftCheck (moto Secrets Manager, KMS, STS, S3; real MinIO)', () => {
  let bed: Awaited<ReturnType<typeof driftBed>>;
  const run = async (buckets: string[], options: { checkTimeoutMs?: number; clock?: () => Date } = {}) =>
    bed
      .drift(options.clock === undefined ? {} : { clock: options.clock })
      .run({ buckets, concurrency: 4, checkTimeoutMs: options.checkTimeoutMs ?? 10_000 });
  const one = async (bucket: RotatedBucket, options: Parameters<typeof run>[1] = {}) =>
    (await run([bucket.record.bucket_name], options)).results[0];

  beforeAll(async () => {
    bed = await driftBed();
  });

  it('passes a healthy MinIO bucket on a rotated secret: every check, each with its reason', async () => {
    // Prepare
    const bucket = await rotatedMinioBucket(bed.registry, sm);

    // Act
    const result = await one(bucket);

    // Assess
    expect(result).toMatchObject({
      bucket: bucket.record.bucket_name,
      id: bucket.record.id,
      status: 'passed',
    });
    expect(verdicts(result)).toEqual({
      secret: true,
      secret_shape: true,
      bucket_access: true,
      kms_key: true,
      resource_policy: true,
      url_lifetime: true,
      rotation: true,
      managed_keys: true,
    });
    expect(message(result, 'kms_key')).toContain(bucket.keyArn);
    expect(message(result, 'managed_keys')).toContain(`${bucket.secret.parent} holds 2 key(s)`);
  }, 120_000);

  it('fails the bucket, naming the key, after its AWSCURRENT key is deleted in MinIO', async () => {
    // Prepare
    const bucket = await rotatedMinioBucket(bed.registry, sm);
    const current = await keyAt(sm, bucket.secret.name, 'AWSCURRENT');
    await root.deleteServiceAccount(current.access_key_id);

    // Act
    const result = await one(bucket);

    // Assess
    expect(result?.status).toBe('failed');
    expect(verdicts(result)).toMatchObject({ secret: true, bucket_access: false, managed_keys: false });
    expect(message(result, 'bucket_access')).toMatch(
      /^credentials_rejected: the store refused the credentials/,
    );
    expect(message(result, 'managed_keys')).toBe(
      `the AWSCURRENT key …${current.access_key_id.slice(-4)} of ${bucket.secret.name} does not exist in MinIO for ${bucket.secret.parent}`,
    );
  }, 120_000);

  it('fails the bucket after its pinned version is removed (the label is gone)', async () => {
    // Prepare: pinned by a custom label on AWSCURRENT, as the README says to pin a rotated secret.
    const pin = `fence-pin-${randomBytes(3).toString('hex')}`;
    const bucket = await rotatedMinioBucket(bed.registry, sm, { pin });
    const versions = (await sm.send(new DescribeSecretCommand({ SecretId: bucket.secret.arn })))
      .VersionIdsToStages;
    const current = Object.entries(versions ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    const label = (change: { MoveToVersionId?: string; RemoveFromVersionId?: string }) =>
      sm.send(
        new UpdateSecretVersionStageCommand({ SecretId: bucket.secret.arn, VersionStage: pin, ...change }),
      );
    await label({ MoveToVersionId: current });
    const pinnedBefore = await one(bucket);
    await label({ RemoveFromVersionId: current });

    // Act
    const result = await one(bucket);

    // Assess
    expect(pinnedBefore?.status).toBe('passed');
    expect(verdicts(pinnedBefore)).toMatchObject({ secret_pin: true, bucket_access: true });
    expect(result?.status).toBe('failed');
    expect(verdicts(result)).toMatchObject({ secret: true, secret_pin: false, secret_shape: false });
    expect(message(result, 'secret_pin')).toBe(
      `invalid_secret: secret ${bucket.secret.name} has no version or label ${pin} (secret_version)`,
    );
  }, 120_000);

  it("fails pin_age when a custom-label pin is older than DRIFT_MAX_PIN_AGE_DAYS (30 by default), by the version's creation date", async () => {
    // Prepare: pinned by a custom label on AWSCURRENT; the runs' clocks are set from the
    // version's creation date as moto reports it, so no run depends on the wall clock.
    const pin = `fence-pin-${randomBytes(3).toString('hex')}`;
    const bucket = await rotatedMinioBucket(bed.registry, sm, { pin });
    const versions = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: bucket.secret.arn })))
      .Versions;
    const current = versions?.find((version) => version.VersionStages?.includes('AWSCURRENT'));
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: bucket.secret.arn,
        VersionStage: pin,
        MoveToVersionId: current?.VersionId,
      }),
    );
    const created = current?.CreatedDate ?? new Date(Number.NaN);
    const daysAfter = (days: number) => () => new Date(created.getTime() + days * 86_400_000 + 60_000);
    // The same registry, checked under a 60-day limit.
    const lenient = await driftBed({ DRIFT_MAX_PIN_AGE_DAYS: '60' });
    const runOf = (drift: typeof bed.drift, days: number) =>
      drift({ clock: daysAfter(days), registry: bed.registry }).run({
        buckets: [bucket.record.bucket_name],
        concurrency: 1,
        checkTimeoutMs: 10_000,
      });

    // Act
    const young = (await runOf(bed.drift, 29)).results[0];
    const old = (await runOf(bed.drift, 31)).results[0];
    const allowed = (await runOf(lenient.drift, 31)).results[0];
    const unpinned = await one(await rotatedMinioBucket(bed.registry, sm));

    // Assess
    expect(verdicts(young)).toMatchObject({ secret_pin: true, bucket_access: true, pin_age: true });
    expect(message(young, 'pin_age')).toBe(`pinned to ${pin}, a version created 29 day(s) ago (limit 30)`);
    expect(verdicts(old)).toMatchObject({ secret_pin: true, bucket_access: true, pin_age: false });
    expect(old?.status).toBe('failed');
    expect(message(old, 'pin_age')).toBe(
      `${bucket.secret.name} is pinned to ${pin}, a version created ${created.toISOString()}, 31 days ago: older than the 30-day limit (DRIFT_MAX_PIN_AGE_DAYS); its key outlives every rotation: move the label to a newer version, or unpin`,
    );
    expect(verdicts(allowed)).toMatchObject({ pin_age: true });
    expect(message(allowed, 'pin_age')).toBe(`pinned to ${pin}, a version created 31 day(s) ago (limit 60)`);
    expect(verdicts(unpinned)).not.toHaveProperty('pin_age');
  }, 180_000);

  it('fails the bucket after rotation is disabled on its secret', async () => {
    // Prepare
    const bucket = await rotatedMinioBucket(bed.registry, sm);
    await sm.send(new CancelRotateSecretCommand({ SecretId: bucket.secret.arn }));

    // Act
    const result = await one(bucket);

    // Assess
    expect(result?.status).toBe('failed');
    expect(verdicts(result)).toMatchObject({ bucket_access: true, rotation: false, managed_keys: true });
    expect(message(result, 'rotation')).toBe(
      `rotation is not enabled on ${bucket.secret.name}, a MinIO-rotated secret (it names minio_parent_user): its keys no longer change`,
    );
  }, 120_000);

  it('fails the bucket when its last rotation is older than the interval plus the window', async () => {
    // Prepare: the run's clock 32 days on; the secret rotates every 30 days with a 24 h window.
    const bucket = await rotatedMinioBucket(bed.registry, sm);
    const later = new Date(Date.now() + 32 * 86_400_000);

    // Act
    const result = await one(bucket, { clock: () => later });

    // Assess
    expect(verdicts(result)).toMatchObject({ rotation: false });
    expect(message(result, 'rotation')).toMatch(
      new RegExp(
        `^${bucket.secret.name} was last rotated .*, 32 days ago; rotating every 30 days \\(window 24 h\\)`,
      ),
    );
  }, 120_000);

  it('fails the bucket after its KMS key is disabled (moto KMS)', async () => {
    // Prepare
    const bucket = await rotatedMinioBucket(bed.registry, sm);
    await new KMSClient({}).send(new DisableKeyCommand({ KeyId: bucket.keyId }));

    // Act
    const result = await one(bucket);

    // Assess
    expect(result?.status).toBe('failed');
    expect(verdicts(result)).toMatchObject({ kms_key: false, bucket_access: true });
    expect(message(result, 'kms_key')).toBe(
      `the KMS key ${bucket.keyArn} of ${bucket.secret.name} is Disabled: Secrets Manager cannot decrypt the secret`,
    );
  }, 120_000);

  it('fails the bucket when its parent still holds a key past its grace (a retirement that never ran)', async () => {
    // Prepare: a key of this secret, unlabelled, demoted three days ago (the grace is ~2 h 15 min).
    const bucket = await rotatedMinioBucket(bed.registry, sm);
    const leftover = `FBBOLD${randomBytes(6).toString('hex').toUpperCase()}`.slice(0, 20);
    await root.addServiceAccount({
      targetUser: bucket.secret.parent,
      accessKey: leftover,
      secretKey: randomBytes(24).toString('base64url'),
      description: writeManagedKeyTag({
        arnHash: secretArnHash(bucket.secret.arn),
        demotedAt: new Date(Date.now() - 3 * 86_400_000),
        secretName: bucket.secret.name,
      }),
    });

    // Act
    const result = await one(bucket);

    // Assess
    expect(verdicts(result)).toMatchObject({ managed_keys: false, bucket_access: true });
    expect(message(result, 'managed_keys')).toMatch(
      new RegExp(
        `^${bucket.secret.parent} holds 1 key\\(s\\) of ${bucket.secret.name} past their grace of 8130 s.*…${leftover.slice(-4)}`,
      ),
    );
  }, 120_000);

  it('fails the bucket when its secret grants a wildcard principal or another account without a condition', async () => {
    // Prepare
    const bucket = await rotatedMinioBucket(bed.registry, sm);
    await sm.send(
      new PutResourcePolicyCommand({
        SecretId: bucket.secret.arn,
        ResourcePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'Everyone',
              Effect: 'Allow',
              Principal: '*',
              Action: 'secretsmanager:GetSecretValue',
              Resource: '*',
            },
            {
              Sid: 'Partner',
              Effect: 'Allow',
              Principal: { AWS: 'arn:aws:iam::210987654321:root' },
              Action: 'secretsmanager:GetSecretValue',
              Resource: '*',
            },
          ],
        }),
      }),
    );

    // Act
    const result = await one(bucket);

    // Assess
    expect(verdicts(result)).toMatchObject({ resource_policy: false });
    expect(message(result, 'resource_policy')).toBe(
      `${bucket.secret.name}: statement Everyone grants a wildcard principal; statement Partner grants arn:aws:iam::210987654321:root of account 210987654321 without a condition`,
    );
  }, 120_000);

  it('passes a role bucket, and fails one whose external id the role does not accept', async () => {
    // Prepare
    const roleArn = await createRoleRequiringExternalId('gen3-commons');
    const [good, wrong] = await Promise.all([createS3Bucket(), createS3Bucket()]);
    const register = (bucket: string, externalId: string) =>
      bed.registry.create({
        bucket_name: bucket,
        provider: 'aws',
        auth_mode: 'role',
        role_arn: roleArn,
        external_id: externalId,
        region: 'us-east-1',
        allowed_ops: ['download'],
      });
    await register(good, 'gen3-commons');
    await register(wrong, 'not-the-one');

    // Act
    const report = await run([good, wrong]);

    // Assess
    const byName = Object.fromEntries(report.results.map((result) => [result.bucket, result]));
    expect(byName[good]).toMatchObject({ status: 'passed', checks: [{ name: 'bucket_access', ok: true }] });
    expect(byName[wrong]?.status).toBe('failed');
    expect(message(byName[wrong], 'bucket_access')).toBe(
      `credentials_rejected: STS refused to assume ${roleArn}`,
    );
  }, 120_000);

  it('fails only the bucket whose store hangs, within the check timeout, and checks the others', async () => {
    // Prepare: a static bucket on a store that never answers, beside a healthy one.
    const hung = await HungServer.start();
    try {
      const healthy = await rotatedMinioBucket(bed.registry, sm);
      const name = `gen3/fence/s3_compatible/${uniqueName('hung')}`;
      const created = await sm.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: JSON.stringify({
            access_key_id: 'HUNGSTOREKEY',
            secret_access_key: 'hung-store-secret',
          }),
        }),
      );
      const hungBucket = uniqueName('hung-store');
      await bed.registry.create({
        bucket_name: hungBucket,
        provider: 's3_compatible',
        auth_mode: 'static',
        secrets_backend: 'aws_sm',
        secret_ref: String(created.ARN),
        endpoint: hung.url,
        allowed_ops: ['download'],
      });

      // Act
      const report = await run([hungBucket, healthy.record.bucket_name], { checkTimeoutMs: 1500 });

      // Assess
      const byName = Object.fromEntries(report.results.map((result) => [result.bucket, result]));
      expect(byName[healthy.record.bucket_name]?.status).toBe('passed');
      expect(byName[hungBucket]?.status).toBe('failed');
      expect(verdicts(byName[hungBucket])).toMatchObject({
        secret: true,
        secret_shape: true,
        bucket_access: false,
      });
      expect(message(byName[hungBucket], 'bucket_access')).toMatch(/within 1500 ms/);
      expect(hung.connections).toBeGreaterThan(0);
    } finally {
      await hung.close();
    }
  }, 120_000);

  it('reports suspended records without checking them, and a name with no record as failed', async () => {
    // Prepare
    const bucket = await rotatedMinioBucket(bed.registry, sm);
    await bed.registry.update(bucket.record.id, bucket.record.revision, { status: 'suspended' });
    const missing = uniqueName('not-registered');

    // Act
    const report: DriftReport = await run([bucket.record.bucket_name, missing]);

    // Assess
    expect(report.totals).toEqual({ buckets: 2, passed: 0, failed: 1, suspended: 1 });
    expect(report.results).toEqual(
      expect.arrayContaining([
        { bucket: bucket.record.bucket_name, id: bucket.record.id, status: 'suspended', checks: [] },
        {
          bucket: missing,
          status: 'failed',
          checks: [{ name: 'record', ok: false, message: `no bucket named "${missing}" is registered` }],
        },
      ]),
    );
  }, 120_000);

  it('checks every record of the registry, reporting a malformed one (by bucket and field) without stopping', async () => {
    // Prepare: a registry of its own, with one role bucket and one record a hand edit broke.
    const own = await driftBed();
    const good = await createS3Bucket();
    const record = await own.registry.create({
      bucket_name: good,
      provider: 'aws',
      auth_mode: 'role',
      role_arn: 'arn:aws:iam::123456789012:role/gen3-bucket-access',
      region: 'us-east-1',
      allowed_ops: ['download'],
    });
    const broken = uniqueName('hand-edited');
    await dynamoDb().send(
      new PutItemCommand({
        TableName: own.tableName,
        Item: marshall({ ...record, id: crypto.randomUUID(), bucket_name: broken, allowed_ops: ['delete'] }),
      }),
    );

    // Act
    const report = await own.drift().run({ concurrency: 2, checkTimeoutMs: 10_000 });

    // Assess
    expect(report.scope).toBe('all');
    expect(report.totals).toEqual({ buckets: 2, passed: 1, failed: 1, suspended: 0 });
    expect(report.results.find((result) => result.bucket === good)?.status).toBe('passed');
    expect(report.results.find((result) => result.bucket === broken)).toEqual({
      bucket: broken,
      status: 'failed',
      checks: [
        {
          name: 'record',
          ok: false,
          message: expect.stringMatching(
            new RegExp(
              `^bucket_misconfigured: the registry record of bucket "${broken}" is malformed: field "allowed_ops.0"`,
            ),
          ),
        },
      ],
    });
  }, 120_000);

  it('never puts a secret value in a result: keys, admin credential and every version stay out', async () => {
    // Prepare: a bucket failing several checks, so messages are many.
    const bucket = await rotatedMinioBucket(bed.registry, sm);
    await new KMSClient({}).send(new DisableKeyCommand({ KeyId: bucket.keyId }));
    const current = await keyAt(sm, bucket.secret.name, 'AWSCURRENT');
    await root.deleteServiceAccount(current.access_key_id);
    const admin = JSON.parse(
      String(
        (
          await sm.send(
            new GetSecretValueCommand({ SecretId: bucket.secret.adminRef, VersionStage: 'AWSCURRENT' }),
          )
        ).SecretString,
      ),
    ) as { secret_access_key: string };

    // Act
    const result = await run([bucket.record.bucket_name]);
    const report = JSON.stringify(result);

    // Assess
    expect(verdicts(result.results[0])).toMatchObject({
      kms_key: false,
      bucket_access: false,
      managed_keys: false,
    });
    for (const secretValue of [
      current.secret_access_key,
      bucket.secret.first.secretKey,
      admin.secret_access_key,
    ]) {
      expect(report).not.toContain(secretValue);
    }
    expect(report).not.toContain(current.access_key_id);
    expect(report).toContain(`…${current.access_key_id.slice(-4)}`);
  }, 120_000);
});
