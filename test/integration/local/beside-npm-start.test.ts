import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Developers keep `npm start` open while they test (issue 22, item 3). This file starts the local
 * runner as `npm start` starts it, on its default ports (8787 for the API, 9000 for the demo
 * bucket's store), then runs the suites that start runners, stores and the harness's services in a
 * nested jest (its own global setup, so moto, MinIO, PostgreSQL and OpenBao start beside it too).
 * A test that takes a fixed port fails there with "address already in use".
 *
 * The default ports sit below the kernel's ephemeral range, so the free ports (port 0) the other
 * files of this run take can never be the ones `npm start` needs.
 */
const REPO = join(__dirname, '../../..');
const NPM_START_PORTS = { api: 8787, store: 9000 } as const;
/**
 * The suites that start a local runner (`npm start` among them), a demo store or, through global
 * setup, every service. Not test/integration/admin/readme-admin.test.ts: its runner takes port 0
 * for both, as here, and its CLI calls would add most of a minute to every run.
 */
const SUITES_THAT_START_SERVERS = [
  'test/integration/local/local-runner.test.ts',
  'test/integration/local/local-runner-loopback.test.ts',
  'test/integration/local/demo-store.test.ts',
  'test/integration/services.test.ts',
];
/** What `npm start` reads and a test run may have set: cleared, so it runs on its defaults. */
const NPM_START_SETTINGS = [
  'PORT',
  'FBB_LOCAL_HOST',
  'FENCE_DEMO_STORE',
  'FENCE_DEMO_STORE_PORT',
  'FENCE_DEMO_ENDPOINT',
  'REGISTRY_TABLE_NAME',
];

/** Whether nothing listens on 127.0.0.1:`port`. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

interface NpmStart {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `npm start` with nothing but a throwaway data directory changed; resolves once it serves. */
async function npmStartOnDefaultPorts(): Promise<NpmStart> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of NPM_START_SETTINGS) delete env[name];
  // Not the repository's `.local/`: that is the developer's own demo data.
  const dataDir = mkdtempSync(join(tmpdir(), 'fbb-npm-start-'));
  const child = spawn('npm', ['start'], {
    cwd: REPO,
    env: { ...env, FENCE_LOCAL_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += String(chunk)));
  child.stderr?.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  while (!output.includes('demo-bucket lives on') && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!output.includes('demo-bucket lives on')) {
    await stop();
    throw new Error(`npm start did not start on its default ports:\n${output}`);
  }
  return { child, output: () => output, stop };
}

/** The environment of the nested run: its own services (none of this run's), CI's rules. */
function nestedRunEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_ENDPOINT_URL') || name.startsWith('JEST_')) delete env[name];
  }
  for (const name of ['MINIO_ENDPOINT', 'FENCE_DB_URL', 'OPENBAO_ADDR', 'FBB_TEST_RUN_PID', 'NODE_ENV']) {
    delete env[name];
  }
  return env;
}

interface JestSummary {
  success: boolean;
  numTotalTestSuites: number;
  numFailedTestSuites: number;
  numPassedTests: number;
  numFailedTests: number;
  testResults: { name: string; status: string; message: string }[];
}

/** Runs jest on `suites` (integration project); resolves with its JSON summary and output. */
function runJest(suites: string[]): Promise<{ summary: JestSummary; output: string }> {
  const summaryFile = join(mkdtempSync(join(tmpdir(), 'fbb-nested-jest-')), 'summary.json');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        join(REPO, 'node_modules/jest/bin/jest.js'),
        ...suites,
        '--selectProjects',
        'integration',
        '--ci',
        '--json',
        `--outputFile=${summaryFile}`,
      ],
      { cwd: REPO, env: nestedRunEnvironment(), maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        try {
          const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as JestSummary;
          resolve({ summary, output: `${stdout}${stderr}` });
        } catch {
          reject(new Error(`the nested jest wrote no summary (${String(error)}):\n${stderr}`));
        } finally {
          rmSync(join(summaryFile, '..'), { recursive: true, force: true });
        }
      },
    );
  });
}

describe('Tests beside `npm start` on its default ports', () => {
  let npmStart: NpmStart | undefined;

  beforeAll(async () => {
    const taken: number[] = [];
    for (const port of Object.values(NPM_START_PORTS)) if (!(await isFree(port))) taken.push(port);
    if (taken.length === 0) {
      npmStart = await npmStartOnDefaultPorts();
    } else if (process.env.CI === 'true') {
      throw new Error(
        `127.0.0.1:${taken.join(' and 127.0.0.1:')} already taken: this test needs npm start's default ports (8787 and 9000) to start it there`,
      );
    }
    // Off CI a taken default port is most likely the developer's own `npm start`: the suites
    // below then run beside that one, which is the point.
  }, 120_000);

  afterAll(async () => {
    await npmStart?.stop();
  });

  it('passes every suite that starts a runner, a store or a service', async () => {
    // Prepare: npm start holds both default ports.
    if (npmStart !== undefined) {
      expect(npmStart.output()).toContain(`presign API on http://127.0.0.1:${NPM_START_PORTS.api}`);
      expect(npmStart.output()).toContain(`demo-bucket lives on http://127.0.0.1:${NPM_START_PORTS.store}`);
      expect(await isFree(NPM_START_PORTS.api)).toBe(false);
      expect(await isFree(NPM_START_PORTS.store)).toBe(false);
    }

    // Act
    const { summary, output } = await runJest(SUITES_THAT_START_SERVERS);

    // Assess: every suite ran and passed, and npm start served throughout.
    const failures = summary.testResults
      .filter((result) => result.status !== 'passed')
      .map((result) => `${result.name}:\n${result.message}`);
    expect(failures).toEqual([]);
    expect(summary.numTotalTestSuites).toBe(SUITES_THAT_START_SERVERS.length);
    expect(summary.numFailedTests).toBe(0);
    expect(summary.numPassedTests).toBeGreaterThan(0);
    expect(summary.success).toBe(true);
    if (npmStart !== undefined) {
      expect(npmStart.child.exitCode).toBeNull();
      const health = await fetch(`http://127.0.0.1:${NPM_START_PORTS.api}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok', mode: 'files' });
    }
    expect(output).not.toMatch(/address already in use|port is already in use/i);
  }, 480_000);
});
