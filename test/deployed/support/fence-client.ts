import { execFile, execFileSync } from 'node:child_process';
import { devNull } from 'node:os';
import { join } from 'node:path';

const REPO = join(__dirname, '../../..');
const DRIVER = join(__dirname, 'fence_client.py');

/** Fixed, fake credentials and the ARN the emulated API Gateway maps them to. */
export interface FakeCaller {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The assumed-role session ARN API Gateway reports for it (`requestContext.identity.userArn`). */
  readonly arn: string;
}

/** One operation of fence_client.py (see its docstring). */
export type FenceOperation =
  | { op: 'presign'; bucket: string; key: string; method: 'GET' | 'PUT' | 'HEAD'; content_type?: string }
  | { op: 'presign_batch'; bucket: string; items: { key: string; method: 'GET' | 'PUT' | 'HEAD' }[] }
  | { op: 'multipart_create'; bucket: string; key: string }
  | { op: 'multipart_part_urls'; bucket: string; key: string; upload_id: string; part_numbers: number[] }
  | {
      op: 'multipart_complete';
      bucket: string;
      key: string;
      upload_id: string;
      parts: { part_number: number; etag: string }[];
    };

/** A `BrokerError` as the Python client raised it. */
export interface ClientError {
  /** The exception class (`UnknownBucket`, `BucketSuspended`, …). */
  readonly class: string;
  readonly code: string;
  readonly status: number | null;
  readonly message: string;
  readonly request_id: string | null;
}

export type FenceResult<T = unknown> = { ok: T; error?: undefined } | { ok?: undefined; error: ClientError };

export interface PresignedUrlJson {
  url: string;
  method: string;
  headers: Record<string, string>;
  expires_at: string;
}

let venvPython: string | undefined;

/** The Python client's venv (clients/python/venv.sh creates it from the hashed lock once). */
export function clientPython(): string {
  venvPython ??= execFileSync(join(REPO, 'clients/python/venv.sh'), { encoding: 'utf8' }).trim();
  return venvPython;
}

/**
 * The environment the client runs with: nothing of the developer's (no profile, no config or
 * credentials file, no session token, no metadata service), only the fixed fake credentials.
 */
export function fakeCredentialsEnvironment(caller: FakeCaller, region: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: caller.accessKeyId,
    AWS_SECRET_ACCESS_KEY: caller.secretAccessKey,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: devNull,
    AWS_SHARED_CREDENTIALS_FILE: devNull,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/**
 * Runs operations through `fence_bucket_broker.BrokerClient` as Fence runs it
 * (`BrokerClient.from_env()` with `FENCE_BUCKET_BROKER_URL` and `FENCE_BUCKET_BROKER_REGION`),
 * signing as `caller`; one result per operation, in order.
 */
export function runFenceClient(
  options: { url: string; region: string; caller: FakeCaller },
  operations: readonly FenceOperation[],
): Promise<FenceResult[]> {
  const python = clientPython();
  return new Promise((resolve, reject) => {
    const child = execFile(
      python,
      [DRIVER],
      {
        env: {
          ...fakeCredentialsEnvironment(options.caller, options.region),
          FENCE_BUCKET_BROKER_URL: options.url,
          FENCE_BUCKET_BROKER_REGION: options.region,
        },
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`fence_client.py failed (${error.message}):\n${stderr}`));
          return;
        }
        resolve(JSON.parse(stdout) as FenceResult[]);
      },
    );
    child.stdin?.end(JSON.stringify(operations));
  });
}

/** What `fence-buckets` printed and its exit code. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `fence-buckets --api <url> …` (the package's bin, as `npx fence-buckets` runs it), signing with
 * the AWS environment credentials of `caller` and nothing else.
 */
export function runCli(
  options: { api: string; region: string; caller: FakeCaller; stdin?: string },
  args: readonly string[],
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(REPO, 'bin/fence-buckets.mjs'), '--api', options.api, ...args],
      {
        cwd: REPO,
        env: fakeCredentialsEnvironment(options.caller, options.region),
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}
