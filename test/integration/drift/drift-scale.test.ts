/**
 * @secrets-manager-on-moto the fleet's MinIO-rotated secrets come from whole rotations (RotationDriver),
 * which need AWS's rotation semantics that moto_server.py gives moto (localstack-semantics.localstack.test.ts).
 * @sts-on-moto the fleet's five role buckets with wrong external ids must be refused by STS, as
 * AWS does and moto_server.py makes moto do; LocalStack's STS assumes them anyway.
 */
import { probeBucketAccess } from '../../../functions/shared/probes/bucket-access-probe';
import { readEndpoints } from '../services/endpoints';
import { secretsManager } from '../support/aws';
import { driftBed } from '../support/drift-bed';
import { createDriftFleet } from '../support/drift-fleet';

describe('Scale: a drift check of 1,000 records (moto, MinIO)', () => {
  it('checks every record once with bounded concurrency; the report is complete and names exactly the broken ones', async () => {
    // Prepare
    const bed = await driftBed();
    const fleet = await createDriftFleet(bed.registry, secretsManager(), readEndpoints().minio, 1000);
    const concurrency = 16;
    let inFlight = 0;
    let mostInFlight = 0;
    const drift = bed.drift({
      probe: async (record, credentials, timeoutMs) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        try {
          await probeBucketAccess(record, credentials, { timeoutMs });
        } finally {
          inFlight--;
        }
      },
    });
    const progress: number[] = [];

    // Act
    const report = await drift.run({
      concurrency,
      checkTimeoutMs: 20_000,
      onResult: (_result, done) => progress.push(done),
    });

    // Assess: complete (each record once), correct (exactly the broken ones fail, with reasons).
    const names = report.results.map((result) => result.bucket);
    expect(fleet.size).toBe(1000);
    expect(names).toHaveLength(1000);
    expect(new Set(names).size).toBe(1000);
    expect(progress).toEqual(Array.from({ length: 1000 }, (_, index) => index + 1));
    // A record that fails but should not is named with its reasons (a loaded machine once made
    // four more fail than the fleet breaks, and the totals alone did not say which or why).
    const unexpected = report.results
      .filter((result) => result.status === 'failed' && !fleet.failing.has(result.bucket))
      .map((result) => ({
        bucket: result.bucket,
        reasons: result.checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.message}`),
      }));
    expect(unexpected).toEqual([]);
    expect(report.totals).toEqual({
      buckets: 1000,
      passed: 1000 - fleet.failing.size - fleet.suspended.size,
      failed: 10,
      suspended: 200,
    });
    const failed = report.results.filter((result) => result.status === 'failed');
    expect(new Set(failed.map((result) => result.bucket))).toEqual(fleet.failing);
    for (const result of failed) {
      const reasons = result.checks
        .filter((check) => !check.ok)
        .map((check) => `${check.name}: ${check.message}`);
      expect(reasons).toEqual([
        expect.stringMatching(
          /^(secret: unknown_secret: secret .* does not exist|bucket_access: credentials_rejected: STS refused to assume)/,
        ),
      ]);
    }
    expect(
      report.results
        .filter((result) => result.status === 'suspended')
        .map((result) => result.bucket)
        .sort(),
    ).toEqual([...fleet.suspended].sort());
    expect(
      report.results.filter((result) => result.status === 'suspended' && result.checks.length > 0),
    ).toEqual([]);
    // Bounded: never more stores probed at once than the concurrency, and more than one.
    expect(mostInFlight).toBeLessThanOrEqual(concurrency);
    expect(mostInFlight).toBeGreaterThan(1);
    // No secret value anywhere in the report.
    const text = JSON.stringify(report);
    expect(fleet.secretValues.filter((value) => text.includes(value))).toEqual([]);
    process.stdout.write(
      `${JSON.stringify({ drift_scale: { buckets: report.totals.buckets, duration_ms: report.duration_ms, concurrency } })}\n`,
    );
  }, 900_000);
});
