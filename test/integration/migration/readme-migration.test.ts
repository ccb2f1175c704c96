import { readFileSync } from 'node:fs';
import { migrationBed, secretsUnder } from '../support/migration-bed';
import { runReadmeBash as bash, readmeBlock } from '../support/readme';

const SECTION = '## Migrating out of fence-config.yaml';

describe('README: Migrating out of fence-config.yaml', () => {
  it('runs the dry run, the migration (which keeps the audit queue keys and says so), then --remove-shared-credentials, as shown', async () => {
    // Prepare: the fixture copy stands in for fence-config.yaml, the test's table for the stack's.
    const bed = await migrationBed();
    const adapt = (block: string) =>
      block
        .replaceAll('FenceBucketBroker-Registry', bed.table)
        .replaceAll('--config fence-config.yaml', `--config ${bed.configPath}`);
    const env = { FENCE_SECRETS_PREFIX: bed.prefix };

    // Act
    const first = await bash(adapt(readmeBlock(SECTION)), env);
    const firstFile = readFileSync(bed.configPath, 'utf8');
    const second = await bash(adapt(readmeBlock(SECTION, 'bash', 1)), env);

    // Assess
    expect(first.stdout).toContain('Plan (dry run: nothing written)');
    expect(first.stdout).toMatch(/secrets to create\s*│\s*4/);
    expect(first.stdout).toMatch(/secrets created\s*│\s*4/);
    expect(first.stdout).toMatch(/records registered\s*│\s*5/);
    expect(first.stdout).toContain('kept CRED-DATA: ');
    expect(first.stdout).toContain('PUSH_AUDIT_LOGS_CONFIG.aws_sqs_config.aws_cred');
    expect(first.code).toBe(1);
    expect(firstFile).toContain(bed.keys['CRED-DATA']?.secret_access_key);
    expect(firstFile).not.toContain(bed.keys['CRED-MINIO']?.secret_access_key);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('migration complete');
    expect(Object.keys(await secretsUnder(bed.prefix))).toHaveLength(4);
    const file = readFileSync(bed.configPath, 'utf8');
    for (const key of bed.keyValues) {
      expect(file).not.toContain(key);
      for (const output of [first.stdout, first.stderr, second.stdout, second.stderr]) {
        expect(output).not.toContain(key);
      }
    }
  }, 180_000);
});
