import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LocalRunnerEnvironmentSchema,
  readLocalRunnerEnvironment,
} from '../../../functions/local/environment';
import { docSection } from '../../integration/support/readme';

const ROOT = join(__dirname, '..', '..', '..');

/** Every variable the local runner reads: its settings schema (functions/local/environment.ts), which it parses before starting. */
function variablesTheLocalRunnerReads(): string[] {
  return Object.keys(LocalRunnerEnvironmentSchema.shape).sort();
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
    const defaults = readLocalRunnerEnvironment({});
    const runner = readFileSync(join(ROOT, 'functions/local/local-runner.ts'), 'utf8');

    // Assess: what the code does …
    expect(defaults).toMatchObject({ PORT: 8787, FENCE_DEMO_STORE_PORT: 9000 });
    expect(runner).toMatch(/\.\.\.env,\s*REGISTRY_TABLE_NAME: 'local-file',\s*FENCE_SECRETS_BACKEND: 'k8s',/);
    // … is what the page says.
    expect(section).toContain('| `PORT` | `8787` |');
    expect(section).toContain('| `FENCE_DEMO_STORE_PORT` | `9000` |');
    expect(section).toContain('This mode always uses the `k8s` backend');
    expect(section).toMatch(/`FENCE_SECRETS_BACKEND=vault`/);
  });
});
