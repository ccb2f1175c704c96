import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import type { MigrationReport } from '../../../functions/shared/migration/fence-config-migration';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { docBlock } from '../support/doc-block';
import { freshFenceDb } from '../support/fence-db';
import { migrationBed } from '../support/migration-bed';

const run = promisify(execFile);
const REPO = join(__dirname, '../../..');
const PAGE = 'docs/cli.md';
const PACKAGE = JSON.parse(readFileSync(join(REPO, 'clients/cli/package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};
const ROOT_VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string })
  .version;
/**
 * The oldest Node.js the package claims (engines >=22): the installed bundle runs under the
 * project's pinned Node 22 too (scripts/node-toolchain.sh installs it when missing, and fails the
 * file naming it when it cannot), or under the Node 22 that FBB_NODE22_BIN names.
 */
const EXTRA_NODE =
  process.env.FBB_NODE22_BIN ||
  join(
    execFileSync('bash', ['scripts/node-toolchain.sh', 'bin', '22'], { cwd: REPO, encoding: 'utf8' }).trim(),
    'node',
  );

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program; a non-zero exit is an answer, not a throw. */
async function exec(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Ran> {
  return run(file, args, { ...options, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number | string; stdout: string; stderr: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

/** Runs a block of docs/cli.md with bash, as an operator pastes it. */
function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return exec('bash', ['-euo', 'pipefail', '-c', script], { cwd, env });
}

function requireTool(tool: string, why: string): void {
  // Missing, the tests below would fail anyway; this says what to install.
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
    throw new Error(`${tool} is not installed (${why}): run \`npm run services:install\``);
}

/** An operator's machine: a home, a working folder and an npm prefix, none in the repository. */
interface OperatorMachine {
  home: string;
  cwd: string;
  prefix: string;
  bin: string;
  /** The environment of the operator's shell: the installed bin first on PATH, AWS pointed at the emulators. */
  env: NodeJS.ProcessEnv;
}

function operatorMachine(): OperatorMachine {
  const root = mkdtempSync(join(tmpdir(), 'fbb-packed-cli-'));
  const machine = { home: join(root, 'home'), cwd: join(root, 'work'), prefix: join(root, 'prefix') };
  for (const folder of Object.values(machine)) mkdirSync(folder, { recursive: true });
  const bin = join(machine.prefix, 'bin');
  // Under `npm test`, npm hands its own settings down as npm_config_* (prefix=/usr among them):
  // none of the repository's may reach the operator's npm.
  const shell = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  const env: NodeJS.ProcessEnv = {
    ...shell,
    HOME: machine.home,
    PATH: `${bin}:${process.env.PATH}`,
    // npm reads its settings from npm_config_* too: the docs' `npm install -g` goes to this
    // prefix, with a cache of its own, and fetches nothing (the package has no dependencies).
    npm_config_prefix: machine.prefix,
    npm_config_cache: join(root, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  delete env.INIT_CWD;
  return { ...machine, bin, env };
}

/** The candidates bash's completion offers for `words` (the last is the word being completed). */
async function bashCompletion(
  machine: OperatorMachine,
  scriptPath: string,
  words: string[],
): Promise<string[]> {
  const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _fence_buckets; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = await exec('bash', ['--noprofile', '--norc', '-c', script, 'bash', scriptPath, ...words], {
    cwd: machine.cwd,
    env: machine.env,
  });
  expect(result).toMatchObject({ code: 0, stderr: '' });
  return result.stdout.split('\n').filter(Boolean);
}

/** The candidates zsh offers on Tab after `line`, in an interactive zsh set up by `zshrc`. */
async function zshCompletion(machine: OperatorMachine, zshrc: string, line: string): Promise<string[]> {
  const setup = join(machine.home, '.zshrc-under-test');
  writeFileSync(setup, zshrc);
  const result = await exec('zsh', ['-f', join(__dirname, '../support/zsh-complete.zsh'), setup, line], {
    cwd: machine.cwd,
    env: machine.env,
  });
  expect(result).toMatchObject({ code: 0 });
  return [...result.stdout.matchAll(/<hit>(.*?)<\/hit>/g)].map((match) => match[1] ?? '');
}

describe('CLI: the packed fence-buckets package, installed as operators install it', () => {
  const machine = operatorMachine();
  let tarball = '';
  let installedBundle = '';
  const timings: Record<string, string> = {};

  beforeAll(async () => {
    if (process.env.CI === 'true') requireTool('zsh', 'the zsh completion is tested in a real zsh');
    // Prepare: the docs' build block, in the repository; it prints the tarball's path last.
    let started = performance.now();
    const packed = await bash(
      docBlock(PAGE, '## Install from the packed tarball', 'bash', 0),
      REPO,
      process.env,
    );
    timings.pack = `${((performance.now() - started) / 1000).toFixed(1)} s`;
    expect(packed).toMatchObject({ code: 0 });
    tarball = packed.stdout.trim().split('\n').at(-1) ?? '';
    // Act: the docs' install block, on the operator's machine, with only the tarball at hand.
    copyFileSync(tarball, join(machine.cwd, basename(tarball)));
    started = performance.now();
    const installed = await bash(
      docBlock(PAGE, '## Install from the packed tarball', 'bash', 1),
      machine.cwd,
      machine.env,
    );
    timings.install = `${((performance.now() - started) / 1000).toFixed(1)} s`;
    expect(installed).toMatchObject({ code: 0 });
    installedBundle = join(
      machine.prefix,
      'lib/node_modules',
      PACKAGE.name,
      PACKAGE.bin['fence-buckets'] ?? '',
    );
    timings.tarball = `${(statSync(tarball).size / 1024).toFixed(0)} KiB`;
    console.log(`packed CLI: tarball ${timings.tarball}, pack ${timings.pack}, install ${timings.install}`);
  }, 240_000);

  it('packs the bundle, its migrations, package.json and README only: no source map, test or node_modules file', async () => {
    // Act
    const listing = await exec('tar', ['-tzf', tarball], { cwd: machine.cwd, env: machine.env });
    const bundle = readFileSync(installedBundle, 'utf8');

    // Assess
    expect(basename(tarball)).toBe(`${PACKAGE.name}-${ROOT_VERSION}.tgz`);
    expect(listing.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        'package/README.md',
        'package/db/migrations/0001_fence_bucket_registry.sql',
        `package/${PACKAGE.bin['fence-buckets']}`,
        'package/package.json',
      ].sort(),
    );
    expect(bundle.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(bundle).not.toContain('sourceMappingURL');
    expect(bundle).not.toContain('sourcesContent');
    // Nothing of CDK: operators do not download it to get a CLI.
    expect(bundle).not.toContain('aws-cdk-lib');
  });

  it('prints its version, the repository’s, with the docs’ command', async () => {
    // Act
    const version = await bash(docBlock(PAGE, '## Check the version'), machine.cwd, machine.env);

    // Assess
    expect(version).toEqual({ code: 0, stdout: `${ROOT_VERSION}\n`, stderr: '' });
  });

  it('shows its help from a folder outside the repository', async () => {
    // Act
    const help = await exec(join(machine.bin, 'fence-buckets'), ['--help'], {
      cwd: machine.cwd,
      env: machine.env,
    });

    // Assess
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: fence-buckets [options] [command]');
    expect(help.stdout).toMatch(/completion <shell>/);
    expect(help.stderr).toBe('');
  });

  it('lists a registry table on the AWS emulator (the DynamoDB client loads from the bundle)', async () => {
    // Prepare
    const table = await createRegistryTable(dynamoDb());

    // Act
    const listed = await exec(join(machine.bin, 'fence-buckets'), ['--json', '--table', table, 'list'], {
      cwd: machine.cwd,
      env: machine.env,
    });

    // Assess: an empty registry, answered by the emulator, and no SDK warning on the terminal.
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(listed.stdout)).toEqual(expect.objectContaining({ records: [] }));
  }, 60_000);

  it('plans a migration of a fence-config.yaml (YAML, Secrets Manager, STS and DynamoDB from the bundle)', async () => {
    // Prepare
    const bed = await migrationBed();

    // Act
    const planned = await exec(
      join(machine.bin, 'fence-buckets'),
      ['--json', 'migrate', '--config', bed.configPath, '--dry-run', '--remove-shared-credentials'],
      { cwd: machine.cwd, env: { ...machine.env, ...bed.env } },
    );

    // Assess: the plan names the fixture's buckets; nothing written, no key printed.
    expect(planned).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(planned.stdout) as MigrationReport;
    expect(report.dry_run).toBe(true);
    expect(report.counts).toMatchObject({ secrets_created: 4, records_registered: 5, problems: 0 });
    expect(report.records.map((record) => record.bucket)).toEqual(
      expect.arrayContaining(['gen3-fixture-data-main', bed.store.bucket]),
    );
    expect(readFileSync(bed.configPath, 'utf8')).toBe(bed.source);
    for (const key of bed.keyValues) expect(`${planned.stdout}${planned.stderr}`).not.toContain(key);
  }, 90_000);

  it('migrates Fence DB with the migrations shipped in the package (pg from the bundle)', async () => {
    // Prepare: an empty database.
    const db = await freshFenceDb({ migrated: false });
    try {
      // Act
      const migrated = await exec(
        join(machine.bin, 'fence-buckets'),
        ['--json', 'db', 'migrate', '--database-url', db.url],
        { cwd: machine.cwd, env: { ...machine.env, FENCE_DB_SSL: 'disable' } },
      );

      // Assess: the package's one migration applied, and its table is there.
      expect(migrated).toMatchObject({ code: 0 });
      expect(JSON.parse(migrated.stdout)).toEqual(
        expect.objectContaining({ applied: ['0001_fence_bucket_registry.sql'] }),
      );
      const tables = await db.pool.query(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'fence_bucket_broker_migrations'",
      );
      expect(tables.rows[0]).toEqual({ n: 1 });
    } finally {
      await db.drop();
    }
  }, 90_000);

  it('completes commands, subcommands, options and their values in bash, installed as the docs say', async () => {
    // Prepare: the docs' bash block writes the script into the operator's completions folder.
    const installed = await bash(docBlock(PAGE, '### bash'), machine.cwd, machine.env);
    expect(installed).toMatchObject({ code: 0, stderr: '' });
    const script = join(machine.home, '.local/share/bash-completion/completions/fence-buckets');
    const complete = (...words: string[]) => bashCompletion(machine, script, ['fence-buckets', ...words]);
    writeFileSync(join(machine.cwd, 'gen3-fence-config.yaml'), '{}\n');

    // Act + Assess, depth by depth.
    expect(await complete('')).toEqual(
      expect.arrayContaining(['list', 'register', 'migrate', 'db', 'drift-check', 'completion', 'help']),
    );
    expect(await complete('d')).toEqual(['db', 'drift-check']);
    expect(await complete('db', '')).toEqual(['migrate', 'help']);
    expect(await complete('db', 'migrate', '--')).toEqual(
      expect.arrayContaining(['--database-url', '--fence-user', '--help', '--json', '--table']),
    );
    // A global option's value is not taken for a command; a command's own option after it.
    expect(await complete('--table', 'db', 'db', 'migrate', '--d')).toEqual(['--database-url']);
    expect(await complete('migrate', '--config', 'gen3-')).toEqual(['gen3-fence-config.yaml']);
    expect(await complete('completion', '')).toEqual(['bash', 'zsh']);
    expect(await complete('help', 'dr')).toEqual(['drift-check']);
    expect(await complete('list', '--st')).toEqual(['--status']);
  }, 60_000);

  it('completes in a real zsh, through compinit, installed as the docs say', async () => {
    requireTool('zsh', 'the zsh completion is tested in a real zsh');
    // Prepare: the docs' zsh block writes `_fence-buckets` into a folder the docs' .zshrc puts on fpath.
    const installed = await bash(docBlock(PAGE, '### zsh'), machine.cwd, machine.env);
    expect(installed).toMatchObject({ code: 0, stderr: '' });
    const zshrc = docBlock(PAGE, '### zsh', 'zsh');
    writeFileSync(join(machine.cwd, 'gen3-fence-config.yaml'), '{}\n');

    // Act + Assess
    expect(await zshCompletion(machine, zshrc, 'fence-buckets db ')).toEqual(['migrate', 'help']);
    expect(await zshCompletion(machine, zshrc, 'fence-buckets ')).toEqual(
      expect.arrayContaining(['list', 'register', 'migrate', 'db', 'drift-check', 'completion', 'help']),
    );
    expect(await zshCompletion(machine, zshrc, 'fence-buckets --table t db migrate --d')).toEqual([
      '--database-url',
    ]);
    expect(await zshCompletion(machine, zshrc, 'fence-buckets completion ')).toEqual(['bash', 'zsh']);
    expect(await zshCompletion(machine, zshrc, 'fence-buckets migrate --config gen3-')).toEqual([
      'gen3-fence-config.yaml',
    ]);
  }, 120_000);

  it('says how to install completion in `completion --help`', async () => {
    // Act
    const help = await exec(join(machine.bin, 'fence-buckets'), ['completion', '--help'], {
      cwd: machine.cwd,
      env: machine.env,
    });

    // Assess
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(
      'fence-buckets completion bash > ~/.local/share/bash-completion/completions/fence-buckets',
    );
    expect(help.stdout).toContain('fence-buckets completion zsh > ~/.zsh/completions/_fence-buckets');
  });

  it(`runs the installed bundle under Node 22 too (${EXTRA_NODE})`, async () => {
    // Prepare
    const node = EXTRA_NODE;
    const table = await createRegistryTable(dynamoDb());

    // Act
    const version = await exec(node, [installedBundle, '--version'], {
      cwd: machine.cwd,
      env: machine.env,
    });
    const listed = await exec(node, [installedBundle, '--json', '--table', table, 'list'], {
      cwd: machine.cwd,
      env: machine.env,
    });

    // Assess
    expect(version).toEqual({ code: 0, stdout: `${ROOT_VERSION}\n`, stderr: '' });
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(listed.stdout)).toEqual(expect.objectContaining({ records: [] }));
  }, 60_000);
});
