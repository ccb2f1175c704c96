import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type ServiceProcess, ServiceStartError, startProcess, waitUntil } from './process';

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

/** A real MinIO server (separate process, never linked) with a throwaway data directory. */
export async function startMinio(): Promise<MinioServer> {
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
  const endpoint = `http://127.0.0.1:${port}`;
  // /minio/health/live answers 200 while still starting; ready only once the offline header is gone.
  await waitUntil(
    service,
    async () => {
      const answer = await fetch(`${endpoint}/minio/health/live`);
      return answer.ok && answer.headers.get('x-minio-server-status') !== 'offline';
    },
    60_000,
  );
  const stop = service.stop;
  return {
    process: {
      ...service,
      stop: async () => {
        await stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    },
    endpoint,
    rootUser,
    rootPassword,
    dataDir,
  };
}
