import { writeFileSync } from 'node:fs';
import { awsEmulator, endpointsFile, type TestEndpoints } from './endpoints';
import { startLocalStack } from './localstack';
import { startMinio } from './minio';
import { startMoto } from './moto';
import { startOpenBao } from './openbao';
import { startPostgres } from './postgres';
import type { ServiceProcess } from './process';

declare global {
  // Handed from global setup to global teardown, which run in the same process.
  var __FBB_SERVICES__: ServiceProcess[] | undefined;
}

/**
 * Starts the real services the integration tests use, on free loopback ports: moto (unless
 * AWS_ENDPOINT_URL names a running one), MinIO, PostgreSQL and OpenBao (unless MINIO_ENDPOINT /
 * FENCE_DB_URL / OPENBAO_ADDR with OPENBAO_TOKEN name running ones), and LocalStack when
 * FBB_AWS_EMULATOR=localstack. A service that cannot start fails the run with its name and how
 * to get it; nothing is skipped.
 */
export default async function globalSetup(): Promise<void> {
  process.env.FBB_TEST_RUN_PID = String(process.pid);
  const emulator = awsEmulator();
  const started: ServiceProcess[] = [];
  globalThis.__FBB_SERVICES__ = started;
  const track = <T extends { process: ServiceProcess }>(service: T): T => {
    started.push(service.process);
    return service;
  };

  const results = await Promise.allSettled([
    process.env.AWS_ENDPOINT_URL
      ? Promise.resolve({ endpoint: process.env.AWS_ENDPOINT_URL })
      : startMoto().then(track),
    process.env.MINIO_ENDPOINT
      ? Promise.resolve({
          endpoint: process.env.MINIO_ENDPOINT,
          rootUser: required('MINIO_ROOT_USER'),
          rootPassword: required('MINIO_ROOT_PASSWORD'),
        })
      : startMinio().then(track),
    process.env.FENCE_DB_URL
      ? Promise.resolve({ url: process.env.FENCE_DB_URL })
      : startPostgres().then(track),
    process.env.OPENBAO_ADDR
      ? Promise.resolve({ address: process.env.OPENBAO_ADDR, rootToken: required('OPENBAO_TOKEN') })
      : startOpenBao().then(track),
    emulator === 'localstack' ? startLocalStack().then(track) : Promise.resolve(null),
  ]);
  const failures = results.filter((result) => result.status === 'rejected');
  if (failures.length > 0) {
    await Promise.all(started.map((service) => service.stop()));
    throw new Error(
      failures.map((failure) => String((failure as PromiseRejectedResult).reason?.message)).join('\n\n'),
    );
  }
  const [moto, minio, postgres, vault, localstack] = results.map(
    (result) => (result as PromiseFulfilledResult<unknown>).value,
  ) as [
    { endpoint: string },
    TestEndpoints['minio'],
    { url: string },
    TestEndpoints['vault'],
    { endpoint: string } | null,
  ];
  const endpoints: TestEndpoints = {
    aws: {
      emulator,
      region: process.env.AWS_REGION ?? 'us-east-1',
      moto: moto.endpoint,
      localstack: localstack?.endpoint ?? null,
    },
    minio: { endpoint: minio.endpoint, rootUser: minio.rootUser, rootPassword: minio.rootPassword },
    postgresUrl: postgres.url,
    vault: { address: vault.address, rootToken: vault.rootToken },
  };
  writeFileSync(endpointsFile(), JSON.stringify(endpoints), { mode: 0o600 });
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set when the harness is told to use an existing server`);
  return value;
}
