/**
 * @secrets-manager-on-moto rotated secrets come from whole rotations (RotationDriver), which need AWS's
 * rotation semantics that moto_server.py gives moto (localstack-semantics.localstack.test.ts).
 */
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { S3DriftReportStore } from '../../../functions/shared/drift/drift-report-store';
import { DRIFT_CHECK_NAMES, type DriftBucketResult } from '../../../functions/shared/drift/drift-results';
import { secretsManager } from '../support/aws';
import { docBlock } from '../support/doc-block';
import { createS3Bucket, driftBed, rotatedMinioBucket } from '../support/drift-bed';
import { runReadmeBash as bash } from '../support/readme';

const PAGE = 'docs/drift.md';
const SECTION = '# Drift check and observability';
const sm = secretsManager();

describe('docs/drift.md: Drift check and observability', () => {
  it('runs the three commands as shown: every bucket, one bucket as JSON, the last stored report', async () => {
    // Prepare: a healthy bucket (the page's my-dataset) and one whose KMS key is disabled.
    const bed = await driftBed();
    const healthy = await rotatedMinioBucket(bed.registry, sm);
    const broken = await rotatedMinioBucket(bed.registry, sm);
    await new KMSClient({}).send(new DisableKeyCommand({ KeyId: broken.keyId }));
    const reportBucket = await createS3Bucket();
    await new S3DriftReportStore(reportBucket).save(
      await bed.drift().run({ concurrency: 2, checkTimeoutMs: 10_000 }),
    );
    const lines = docBlock(PAGE, SECTION)
      .trim()
      .split('\n')
      .map((line) =>
        line
          .replaceAll('FenceBucketBroker-Registry', bed.tableName)
          .replaceAll('my-dataset', healthy.record.bucket_name)
          .replaceAll('fencebucketbroker-driftreports', reportBucket),
      );
    const env = { FENCE_ALLOW_INSECURE_MINIO_HTTP: 'true' };

    // Act
    const [all, one, last] = [
      await bash(lines[0] ?? '', env),
      await bash(lines[1] ?? '', env),
      await bash(lines[2] ?? '', env),
    ];

    // Assess
    expect(lines).toHaveLength(3);
    expect(all.code).toBe(1);
    expect(all.stdout).toContain(broken.record.bucket_name);
    expect(all.stdout).toContain('is Disabled: Secrets Manager cannot decrypt the secret');
    expect(all.stdout).toMatch(/1 of 2 bucket\(s\) passed, 1 failed, 0 suspended \(not checked\); run of /);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({
      totals: { buckets: 1, passed: 1 },
      results: [{ bucket: healthy.record.bucket_name, status: 'passed' }],
    });
    expect(last.code).toBe(1);
    expect(last.stdout).toContain(broken.record.bucket_name);
    expect(last.stdout).toMatch(/1 of 2 bucket\(s\) passed, 1 failed/);
  }, 180_000);

  it('shows a bucket result in the shape and words the check writes', async () => {
    // Prepare
    const bed = await driftBed();
    const broken = await rotatedMinioBucket(bed.registry, sm);
    await new KMSClient({}).send(new DisableKeyCommand({ KeyId: broken.keyId }));
    const shown = JSON.parse(docBlock(PAGE, SECTION, 'json')) as DriftBucketResult;

    // Act
    const [result] = (
      await bed.drift().run({ buckets: [broken.record.bucket_name], concurrency: 1, checkTimeoutMs: 10_000 })
    ).results;

    // Assess
    expect(Object.keys(shown).sort()).toEqual(Object.keys(result ?? {}).sort());
    for (const check of shown.checks) {
      expect(Object.keys(check).sort()).toEqual(['message', 'name', 'ok']);
      expect(DRIFT_CHECK_NAMES).toContain(check.name);
      const real = result?.checks.find((entry) => entry.name === check.name);
      expect(real?.ok).toBe(check.ok);
      // The page's names (bucket, secret, key) stand for the real ones.
      const pattern = check.message
        .replaceAll('gen3/fence/minio/my-dataset', '\u0000')
        .replace(/arn:aws:kms:\S+/, '\u0001')
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replaceAll('\u0000', '\\S+')
        .replaceAll('\u0001', '\\S+');
      expect(real?.message).toMatch(new RegExp(`^${pattern}$`));
    }
    expect(result?.status).toBe(shown.status);
  }, 180_000);
});
