import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readmeBlock } from '../integration/support/readme';

const run = promisify(execFile);
const REPO = join(__dirname, '../..');

describe('README: deploying the sync from Fence DB', () => {
  it('synthesizes offline with the context shown, adding the sync function and its schedule', async () => {
    // Prepare: the README's deploy command, as a synth into a directory of this test's
    const out = mkdtempSync(join(tmpdir(), 'fbb-readme-synth-'));
    const command = readmeBlock('Deploying with Fence DB adds a **sync Lambda**').replace(
      'npx cdk deploy',
      `npx cdk synth -q -o ${out}`,
    );

    // Act
    await run('bash', ['-euo', 'pipefail', '-c', command], { cwd: REPO, encoding: 'utf8' });

    // Assess
    const template = JSON.parse(readFileSync(join(out, 'FenceBucketBroker.template.json'), 'utf8'));
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map(
      (resource) => resource.Type,
    );
    expect(types).toContain('AWS::Events::Rule');
    expect(template.Outputs.RegistrySyncFunctionName).toBeDefined();
    expect(JSON.stringify(template)).toContain('subnet-0fedcba9876543210');
  }, 300_000);
});
