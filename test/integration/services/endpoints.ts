import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the services of this test run can be reached; written by global setup, read by tests. */
export interface TestEndpoints {
  /** AWS API endpoint (moto here; LocalStack or another emulator when AWS_ENDPOINT_URL is preset). */
  awsEndpoint: string;
  awsRegion: string;
  minio: { endpoint: string; rootUser: string; rootPassword: string };
  postgresUrl: string;
  /** OpenBao (Vault's API) in dev mode: KV v2 at `secret/`, and its root token. */
  vault: { address: string; rootToken: string };
}

/** One state file per jest run, named by the parent's pid so parallel runs do not collide. */
export function endpointsFile(parentPid = process.env.FBB_TEST_RUN_PID ?? String(process.pid)): string {
  return join(tmpdir(), `fence-bucket-broker-services-${parentPid}.json`);
}

export function readEndpoints(): TestEndpoints {
  return JSON.parse(readFileSync(endpointsFile(), 'utf8')) as TestEndpoints;
}
