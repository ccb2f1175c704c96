// The benches' stores listen on loopback over http, as the tests' do (the one setting they share).
import '../test/support/store-endpoints';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerResolver } from '../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { MinioAdminClient } from '../functions/shared/minio/minio-admin-client';
import { probeMinioBucket } from '../functions/shared/rotation/minio-bucket-probe';
import { MinioKeyRotation } from '../functions/shared/rotation/minio-key-rotation';
import { RotationStore } from '../functions/shared/rotation/rotation-store';
import { startMinio } from '../test/integration/services/minio';
import { startMoto } from '../test/integration/services/moto';
import { createRotatingMinioSecret } from '../test/integration/support/rotating-minio-secret';
import { RotationDriver } from '../test/integration/support/rotation-driver';

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
    const driver = new RotationDriver(sm, (event) => rotation.run(event));
    const times: number[] = [];
    for (let run = 0; run < 10; run++) {
      const started = performance.now();
      await driver.rotate(secret.name);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'rotation',
        impl: 'four steps (RotateSecret + create/set/test/finish, stamp + retire), local MinIO + moto',
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
