import { spawn } from 'node:child_process';

/**
 * Fence as `npm run test:fence` built it: the patched source (`FENCE_SOURCE`) and the venv made
 * from its lock (`FENCE_PYTHON`). Missing either is a failure, never a skip: these tests exist
 * to run Fence.
 */
export function fenceBuild(): { source: string; python: string } {
  const source = process.env.FENCE_SOURCE;
  const python = process.env.FENCE_PYTHON;
  if (!source || !python) {
    throw new Error('FENCE_SOURCE and FENCE_PYTHON are unset: run these tests with `npm run test:fence`');
  }
  return { source, python };
}

/** Runs Fence's python with `args` in `cwd`; its exit code and output (stdout and stderr). */
export function runFencePython(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { python } = fenceBuild();
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The environment of a Fence process: no AWS identity of the developer's (fixed fake keys; Fence's
 * tests and the broker client sign with them, the local runner checks none), Prometheus's
 * multiprocess directory Fence's start-up asks for, and the database.
 */
export function fenceEnv(extra: { DB: string; PROMETHEUS_MULTIPROC_DIR: string } & NodeJS.ProcessEnv) {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: 'AKIDFENCETESTS000000',
    AWS_SECRET_ACCESS_KEY: 'fence-tests-secret-key-00000000000000000',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
    // SQLAlchemy, which Fence uses, knows only the `postgresql` scheme.
    DB: extra.DB.replace(/^postgres:/, 'postgresql:'),
  };
  return env;
}
