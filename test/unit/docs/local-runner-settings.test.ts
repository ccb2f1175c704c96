import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { docSection } from '../../integration/support/readme';

const ROOT = join(__dirname, '..', '..', '..');

/** Every environment variable `npm start` reads: `env.X` in the local runner's folder and `process.env.X` in its entry. */
function variablesTheLocalRunnerReads(): string[] {
  const sources = [
    ...readdirSync(join(ROOT, 'functions/local')).map((file) => join(ROOT, 'functions/local', file)),
    join(ROOT, 'bin/local.ts'),
  ].map((file) => readFileSync(file, 'utf8'));
  const names = sources.flatMap((source) =>
    [...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map(([, name]) => String(name)),
  );
  return [...new Set(names)].sort();
}

describe('docs/configuration.md: local runner settings', () => {
  const section = docSection('docs/configuration.md', '## Local runner settings');

  it('names every variable the local runner reads', () => {
    // Act
    const read = variablesTheLocalRunnerReads();

    // Assess
    expect(read).toEqual(
      expect.arrayContaining(['PORT', 'FBB_LOCAL_HOST', 'FENCE_LOCAL_DIR', 'REGISTRY_TABLE_NAME']),
    );
    for (const name of read)
      expect({ name, documented: section.includes(`\`${name}\``) }).toEqual({ name, documented: true });
  });

  it('states the defaults the code applies: PORT 8787, the store on 9000, and files mode on the k8s backend', () => {
    // Prepare
    const entry = readFileSync(join(ROOT, 'bin/local.ts'), 'utf8');
    const runner = readFileSync(join(ROOT, 'functions/local/local-runner.ts'), 'utf8');

    // Assess: what the code does …
    expect(entry).toMatch(/process\.env\.PORT === undefined \? 8787/);
    expect(runner).toMatch(/FENCE_DEMO_STORE_PORT === undefined \? 9000/);
    expect(runner).toMatch(/\.\.\.env,\s*REGISTRY_TABLE_NAME: 'local-file',\s*FENCE_SECRETS_BACKEND: 'k8s',/);
    // … is what the page says.
    expect(section).toContain('| `PORT` | `8787` |');
    expect(section).toContain('| `FENCE_DEMO_STORE_PORT` | `9000` |');
    expect(section).toContain('This mode always uses the `k8s` backend');
    expect(section).toMatch(/`FENCE_SECRETS_BACKEND=vault`/);
  });
});
