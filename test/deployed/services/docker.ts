import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ServiceStartError } from '../../integration/services/process';

const run = promisify(execFile);
const HINT = "run `bash scripts/install-deployed-services.sh` (as root: it installs Debian's docker.io)";

/** A Docker daemon the deployed tests may use; `stop` ends it only if `ensureDocker` started it. */
export interface DockerHandle {
  /** Whether this handle started dockerd (and so `stop` ends it). */
  readonly started: boolean;
  /** The PID of dockerd itself, when this handle started it. */
  readonly pid?: number;
  stop(): Promise<void>;
}

/** Whether a Docker daemon answers `docker info`. */
export async function dockerAnswers(timeoutMs = 10_000): Promise<boolean> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/**
 * A running Docker daemon: the one that answers `docker info`, or else a `dockerd --storage-driver
 * overlay2` started here (there is no systemd on CI machines) and stopped by `stop()`. A daemon
 * that cannot be had fails with Docker's name and how to install it, never a skip (on CI or not).
 */
export async function ensureDocker(timeoutMs = 60_000): Promise<DockerHandle> {
  if (await dockerAnswers()) return { started: false, stop: async () => {} };
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((path) => existsSync(path));
  if (dockerd === undefined) throw new ServiceStartError('Docker', 'is not installed (no dockerd)', '', HINT);
  const logFile = join(tmpdir(), `fbb-dockerd-${process.pid}.log`);
  const log = openSync(logFile, 'a');
  // Spawned directly (no shell), so child.pid is dockerd's own PID; detached, so it outlives a
  // jest worker that exits before the teardown stops it.
  const child = spawn(dockerd, ['--storage-driver', 'overlay2'], {
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new ServiceStartError('Docker', 'could not be started (dockerd)', '', HINT);
  const handle: DockerHandle = { started: true, pid, stop: () => stopDockerd(pid) };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new ServiceStartError('Docker', `dockerd exited while starting (log: ${logFile})`, '', HINT);
    }
    if (await dockerAnswers(5000)) return handle;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await handle.stop();
  throw new ServiceStartError(
    'Docker',
    `dockerd did not answer within ${timeoutMs} ms (log: ${logFile})`,
    '',
    HINT,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to dockerd (it stops its containers first), SIGKILL after 20 s. */
async function stopDockerd(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}
