// The benches' stores listen on loopback over http, as the tests' do (the one setting they share).
import '../test/support/store-endpoints';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerResolver } from '../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { MinioAdminClient } from '../functions/shared/minio/minio-admin-client';
import { IamAccessKeys } from '../functions/shared/rotation/iam-access-keys';
import { IamUserKeyRotation } from '../functions/shared/rotation/iam-user-key-rotation';
import { probeMinioBucket } from '../functions/shared/rotation/minio-bucket-probe';
import { MinioKeyRotation } from '../functions/shared/rotation/minio-key-rotation';
import { RotationStore } from '../functions/shared/rotation/rotation-store';
import { startMinio } from '../test/integration/services/minio';
import { startMoto } from '../test/integration/services/moto';
import { createRotatingIamSecret, ROTATED_PATH } from '../test/integration/support/rotating-iam-user';
import { createRotatingMinioSecret } from '../test/integration/support/rotating-minio-secret';
import { RotationDriver } from '../test/integration/support/rotation-driver';

const RUNS = 10;

/** The duration of each of RUNS full rotations of one secret, in milliseconds, sorted. */
async function timeRotations(driver: RotationDriver, secretName: string): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    await driver.rotate(secretName);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

function summary(times: readonly number[]): { median_ms: number; min_ms: number; max_ms: number } {
  return {
    median_ms: Math.round(((times[RUNS / 2 - 1] ?? 0) + (times[RUNS / 2] ?? 0)) / 2),
    min_ms: Math.round(times[0] ?? 0),
    max_ms: Math.round(times[RUNS - 1] ?? 0),
  };
}

const ratio = (value: number, reference: number) => Math.round((value / Math.max(reference, 1)) * 100) / 100;

async function main(): Promise<void> {
  const [moto, minio] = await Promise.all([startMoto(), startMinio()]);
  try {
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_REGION ??= 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID ??= 'testing';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
    const sm = new SecretsManagerClient({});
    const secret = await createRotatingMinioSecret(minio, sm);
    const rotation = new MinioKeyRotation({
      store: new RotationStore(sm),
      adminSecrets: new AwsSecretsManagerResolver(),
      adminClient: (connection) => new MinioAdminClient(connection),
      probe: probeMinioBucket,
      // Grace 0: the steady state of a schedule that keeps the interval rule, where each
      // rotation stamps the demoted key and deletes the one from two rotations ago.
      grace: { seconds: async () => 0 },
      allowInsecureHttp: true,
    });
    const minioTimes = await timeRotations(
      new RotationDriver(sm, (event) => rotation.run(event)),
      secret.name,
    );
    // The IAM case: the same four steps over an IAM user's keys on moto (IAM, S3, Secrets
    // Manager), where createSecret also deletes the key from two rotations ago.
    const iam = new IAMClient({});
    const iamSecret = await createRotatingIamSecret({ iam, s3: new S3Client({ forcePathStyle: true }), sm });
    const iamRotation = new IamUserKeyRotation({
      store: new RotationStore(sm),
      iam: new IamAccessKeys(iam),
      userPath: ROTATED_PATH,
      grace: { seconds: async () => 0 },
    });
    const iamTimes = await timeRotations(
      new RotationDriver(sm, (event) => iamRotation.run(event)),
      iamSecret.name,
    );
    const minioSummary = summary(minioTimes);
    const iamSummary = summary(iamTimes);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'rotation',
        impl: 'four steps (RotateSecret + create/set/test/finish, stamp + retire), local MinIO + moto',
        runs: RUNS,
        ...minioSummary,
      })}\n`,
    );
    // Figures that compare across machines: the IAM case as ratios to the MinIO case of this run.
    process.stdout.write(
      `${JSON.stringify({
        bench: 'rotation-iam',
        impl: 'four steps over an IAM user (delete oldest + CreateAccessKey, signed S3 HEAD, stage move, stamp), moto',
        runs: RUNS,
        ...iamSummary,
        median_vs_minio: ratio(iamSummary.median_ms, minioSummary.median_ms),
        min_vs_minio: ratio(iamSummary.min_ms, minioSummary.min_ms),
        max_vs_minio: ratio(iamSummary.max_ms, minioSummary.max_ms),
      })}\n`,
    );
  } finally {
    await Promise.all([moto.process.stop(), minio.process.stop()]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
