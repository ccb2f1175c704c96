/**
 * `npm run bench:rotation`: one full rotation (four steps) against a local MinIO and the moto
 * server of the tests, median of 10 runs; the services are started here and stopped after.
 * One JSON object per line.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MinioAdminClient } from '../functions/shared/minio/minio-admin-client';
import { probeMinioBucket } from '../functions/shared/rotation/minio-bucket-probe';
import { MinioKeyRotation } from '../functions/shared/rotation/minio-key-rotation';
import { RotationStore } from '../functions/shared/rotation/rotation-store';
import { AwsSecretsManagerResolver } from '../functions/shared/secrets/aws-secrets-manager-resolver';
import { startMinio } from '../test/integration/services/minio';
import { startMoto } from '../test/integration/services/moto';
import { RotationDriver } from '../test/integration/support/rotation-driver';

async function main(): Promise<void> {
  const [moto, minio] = await Promise.all([startMoto(), startMinio()]);
  try {
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_REGION ??= 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID ??= 'testing';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
    const sm = new SecretsManagerClient({});
    const root = new MinioAdminClient({
      endpoint: minio.endpoint,
      accessKey: minio.rootUser,
      secretKey: minio.rootPassword,
    });
    const bucket = 'rotation-bench';
    await new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword },
    }).send(new CreateBucketCommand({ Bucket: bucket }));
    await root.addUser('bench-parent', randomBytes(24).toString('base64url'));
    await root.attachPolicies('bench-parent', ['readwrite']);
    await sm.send(
      new CreateSecretCommand({
        Name: 'gen3/fence/minio-admin/bench',
        SecretString: JSON.stringify({
          access_key_id: minio.rootUser,
          secret_access_key: minio.rootPassword,
        }),
      }),
    );
    const first = { accessKey: 'FBBBENCHFIRSTKEY0001', secretKey: randomBytes(30).toString('base64url') };
    await root.addServiceAccount({ targetUser: 'bench-parent', ...first });
    await sm.send(
      new CreateSecretCommand({
        Name: 'gen3/fence/minio/bench',
        SecretString: JSON.stringify({
          access_key_id: first.accessKey,
          secret_access_key: first.secretKey,
          minio_endpoint: minio.endpoint,
          minio_parent_user: 'bench-parent',
          minio_admin_secret_ref: 'gen3/fence/minio-admin/bench',
          minio_bucket: bucket,
        }),
      }),
    );
    const rotation = new MinioKeyRotation({
      store: new RotationStore(sm),
      adminSecrets: new AwsSecretsManagerResolver(),
      adminClient: (connection) => new MinioAdminClient(connection),
      probe: probeMinioBucket,
    });
    const driver = new RotationDriver(sm, (event) => rotation.run(event));
    const times: number[] = [];
    for (let run = 0; run < 10; run++) {
      const started = performance.now();
      await driver.rotate('gen3/fence/minio/bench');
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'rotation',
        impl: 'four steps (RotateSecret + create/set/test/finish), local MinIO + moto',
        runs: 10,
        median_ms: Math.round(((times[4] ?? 0) + (times[5] ?? 0)) / 2),
        min_ms: Math.round(times[0] ?? 0),
        max_ms: Math.round(times[9] ?? 0),
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
