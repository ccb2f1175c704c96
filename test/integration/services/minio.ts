import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  removingOnStop,
  type ServiceProcess,
  ServiceStartError,
  startProcess,
  waitUntil,
} from './process';

/** Where `scripts/install-test-services.sh` puts the MinIO server (built with `go install`). */
export function minioBinary(): string {
  if (process.env.MINIO_BINARY) return process.env.MINIO_BINARY;
  let gopath = join(process.env.HOME ?? '/root', 'go');
  try {
    gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim() || gopath;
  } catch {
    // no Go toolchain: fall back to the default GOPATH
  }
  return join(gopath, 'bin', 'minio');
}

export interface MinioServer {
  process: ServiceProcess;
  endpoint: string;
  rootUser: string;
  rootPassword: string;
  dataDir: string;
}

export interface MinioOptions {
  /** A directory holding `public.crt` and `private.key`: MinIO then serves HTTPS only. */
  certsDir?: string;
  /** The PEM CA that signed `public.crt`, for the readiness probe. */
  caPem?: string;
}

/** A real MinIO server (separate process, never linked) with a throwaway data directory. */
export async function startMinio(options: MinioOptions = {}): Promise<MinioServer> {
  const binary = minioBinary();
  if (!existsSync(binary)) throw new ServiceStartError('MinIO', `is not installed at ${binary}`);
  const [port, consolePort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'fbb-minio-'));
  const rootUser = 'broker-test-root';
  const rootPassword = `root-${crypto.randomUUID()}`;
  const service = startProcess(
    'MinIO',
    binary,
    [
      'server',
      dataDir,
      '--address',
      `127.0.0.1:${port}`,
      '--console-address',
      `127.0.0.1:${consolePort}`,
      '--quiet',
      ...(options.certsDir === undefined ? [] : ['--certs-dir', options.certsDir]),
    ],
    {
      env: {
        ...process.env,
        MINIO_ROOT_USER: rootUser,
        MINIO_ROOT_PASSWORD: rootPassword,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        MINIO_CI_CD: '1',
      },
    },
  );
  const endpoint = `${options.certsDir === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  // /minio/health/live answers 200 while still starting; ready only once the offline header is gone.
  await waitUntil(
    service,
    async () => {
      const answer = await probe(`${endpoint}/minio/health/live`, options.caPem);
      return answer.status === 200 && answer.serverStatus !== 'offline';
    },
    60_000,
  );
  return {
    process: removingOnStop(service, dataDir),
    endpoint,
    rootUser,
    rootPassword,
    dataDir,
  };
}

/** GET over HTTP or HTTPS (trusting `caPem`), for readiness. */
function probe(
  url: string,
  caPem: string | undefined,
): Promise<{ status: number; serverStatus: string | undefined }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsGet : httpGet;
    const request = send(url, caPem === undefined ? {} : { ca: caPem }, (answer) => {
      answer.resume();
      const header = answer.headers['x-minio-server-status'];
      resolve({ status: answer.statusCode ?? 0, serverStatus: Array.isArray(header) ? header[0] : header });
    });
    request.on('error', reject);
  });
}
