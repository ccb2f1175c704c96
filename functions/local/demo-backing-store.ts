import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'minio';
import { startDemoStore } from './demo-store';

/** The local S3-compatible store behind the demo bucket of `npm start`. */
export interface DemoBackingStore {
  kind: 'minio' | 'embedded';
  endpoint: string;
  close(): Promise<void>;
}

export interface DemoBackingStoreOptions {
  /** Where the store keeps its data (kept across runs). */
  directory: string;
  /** The demo secret's keys: the only credentials the store accepts. */
  accessKeyId: string;
  secretAccessKey: string;
  /** Buckets the store holds (created when missing). */
  buckets: readonly string[];
  /** 0 picks a free port. */
  port: number;
  /** `auto` (MinIO when built, else embedded), `minio` or `embedded`. */
  choice: 'auto' | 'minio' | 'embedded';
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts the demo bucket's store: the real MinIO server when `npm run services:install` has
 * built it (a separate process; MinIO is AGPL and never linked), otherwise the embedded store,
 * which checks SigV4 as S3 does (a tampered, expired or wrongly signed URL is refused). Either
 * way a presigned URL from the quick start really uploads and downloads.
 */
export async function startDemoBackingStore(options: DemoBackingStoreOptions): Promise<DemoBackingStore> {
  const binary = minioBinary(options.env ?? process.env);
  const useMinio = options.choice === 'minio' || (options.choice === 'auto' && binary !== undefined);
  if (useMinio) {
    if (binary === undefined) {
      throw new Error(
        'FENCE_DEMO_STORE=minio, but no MinIO binary was found: run `npm run services:install`',
      );
    }
    return startMinio(binary, options);
  }
  const store = await startDemoStore({
    directory: options.directory,
    port: options.port,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
    buckets: options.buckets,
  });
  return { kind: 'embedded', endpoint: store.endpoint, close: () => store.close() };
}

/** Where `scripts/install-test-services.sh` puts MinIO (`go install`), if it is there. */
export function minioBinary(env: NodeJS.ProcessEnv): string | undefined {
  if (env.MINIO_BINARY) return existsSync(env.MINIO_BINARY) ? env.MINIO_BINARY : undefined;
  let gopath = env.GOPATH ?? '';
  if (gopath === '') {
    try {
      gopath = execFileSync('go', ['env', 'GOPATH'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      gopath = join(env.HOME ?? '/root', 'go');
    }
  }
  const candidate = join(gopath.split(':')[0] ?? gopath, 'bin', 'minio');
  return existsSync(candidate) ? candidate : undefined;
}

async function startMinio(binary: string, options: DemoBackingStoreOptions): Promise<DemoBackingStore> {
  const dataDir = join(options.directory, 'minio');
  await mkdir(dataDir, { recursive: true });
  const port = options.port === 0 ? await freePort() : options.port;
  const child: ChildProcess = spawn(
    binary,
    [
      'server',
      dataDir,
      '--address',
      `127.0.0.1:${port}`,
      '--console-address',
      `127.0.0.1:${await freePort()}`,
      '--quiet',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        MINIO_ROOT_USER: options.accessKeyId,
        MINIO_ROOT_PASSWORD: options.secretAccessKey,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
      },
    },
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const close = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  const client = new Client({
    endPoint: '127.0.0.1',
    port,
    useSSL: false,
    accessKey: options.accessKeyId,
    secretKey: options.secretAccessKey,
    region: 'us-east-1',
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`MinIO exited with code ${child.exitCode}: ${output}`);
    try {
      for (const bucket of options.buckets) {
        if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket, 'us-east-1');
      }
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await close();
        throw new Error(`MinIO did not become ready at ${endpoint}: ${String(error)} ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return { kind: 'minio', endpoint, close };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
