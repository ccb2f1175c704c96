import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Which emulator serves Secrets Manager, STS and S3 in this run (`FBB_AWS_EMULATOR`):
 * `moto` for `npm test`, `localstack` for `npm run test:localstack`.
 */
export type AwsEmulator = 'moto' | 'localstack';

/** Where the services of this test run can be reached; written by global setup, read by tests. */
export interface TestEndpoints {
  aws: {
    emulator: AwsEmulator;
    region: string;
    /** moto server: always there (DynamoDB; everything in the moto run). */
    moto: string;
    /** LocalStack: only in the LocalStack run. */
    localstack: string | null;
  };
  minio: { endpoint: string; rootUser: string; rootPassword: string };
  postgresUrl: string;
  /** OpenBao (Vault's API) in dev mode: KV v2 at `secret/`, and its root token. */
  vault: { address: string; rootToken: string };
}

/** The run's emulator, from `FBB_AWS_EMULATOR`; anything else than the two fails the run. */
export function awsEmulator(value = process.env.FBB_AWS_EMULATOR): AwsEmulator {
  if (value === undefined || value === '' || value === 'moto') return 'moto';
  if (value === 'localstack') return 'localstack';
  throw new Error(`FBB_AWS_EMULATOR must be "moto" or "localstack", not "${value}"`);
}

/** One state file per jest run, named by the parent's pid so parallel runs do not collide. */
export function endpointsFile(parentPid = process.env.FBB_TEST_RUN_PID ?? String(process.pid)): string {
  return join(tmpdir(), `fence-bucket-broker-services-${parentPid}.json`);
}

export function readEndpoints(): TestEndpoints {
  return JSON.parse(readFileSync(endpointsFile(), 'utf8')) as TestEndpoints;
}
