import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../functions/cli/program';

const REPO = join(__dirname, '../../..');
const manifest = (path: string) => JSON.parse(readFileSync(join(REPO, path), 'utf8'));

/** Runs the CLI in process with captured output. */
async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    interactive: false,
    stdin: async () => '',
  });
  return { code, out, err };
}

describe('CLI: the fence-buckets package', () => {
  it('has the repository’s version, no runtime dependencies and Node.js 22 or later', () => {
    // Prepare + Act
    const root = manifest('package.json');
    const cliPackage = manifest('clients/cli/package.json');

    // Assess
    expect(cliPackage.version).toBe(root.version);
    expect(cliPackage.dependencies ?? {}).toEqual({});
    expect(cliPackage.engines).toEqual({ node: '>=22' });
    expect(Object.keys(cliPackage.bin)).toEqual(['fence-buckets']);
  });

  it('prints that version with --version and -V', async () => {
    // Act
    const long = await cli(['--version']);
    const short = await cli(['-V']);

    // Assess
    expect(long).toEqual({ code: 0, out: `${manifest('package.json').version}\n`, err: '' });
    expect(short).toEqual(long);
  });
});

describe('CLI: fence-buckets completion', () => {
  it('writes every command, subcommand and option of the program into the bash and zsh scripts', async () => {
    // Prepare: what --help lists, level by level, read independently of the generator.
    const commands = ['', 'db', ...['list', 'register', 'migrate', 'db migrate', 'drift-check', 'sync']];
    const helps = await Promise.all(
      commands.map((path) => cli([...path.split(' ').filter(Boolean), '--help'])),
    );

    // Act
    const bash = await cli(['completion', 'bash']);
    const zsh = await cli(['completion', 'zsh']);

    // Assess: every long option and command name the help shows is in both scripts.
    expect(bash.code).toBe(0);
    expect(zsh.code).toBe(0);
    for (const help of helps) {
      const names = [...help.out.matchAll(/^ {2}(--[a-z-]+|[a-z][a-z-]*)\b/gm)].map(
        (match) => match[1] ?? '',
      );
      expect(names.length).toBeGreaterThan(1);
      for (const name of names) {
        expect(bash.out).toContain(name);
        expect(zsh.out).toContain(name);
      }
    }
    expect(bash.out).toContain('complete -F _fence_buckets fence-buckets');
    expect(zsh.out.startsWith('#compdef fence-buckets\n')).toBe(true);
  });

  it('refuses a shell it has no script for, as a usage error', async () => {
    // Act
    const fish = await cli(['completion', 'fish']);

    // Assess
    expect(fish.code).toBe(2);
    expect(fish.err).toContain('Allowed choices are bash, zsh');
    expect(fish.out).toBe('');
  });
});
