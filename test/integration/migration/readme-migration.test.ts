import { readFileSync } from 'node:fs';
import { docBlock } from '../support/doc-block';
import { migrationBed, secretsUnder } from '../support/migration-bed';
import { runReadmeBash as bash, docPage } from '../support/readme';

const PAGE = 'docs/fence.md';
const SECTION = '## Migrating out of the Fence config file';

describe('docs/fence.md: Migrating out of the Fence config file', () => {
  it('runs the dry run, the migration (which keeps the audit queue keys and says so), then --remove-shared-credentials, as shown', async () => {
    // Prepare: the fixture copy stands in for fence-config.yaml, the test's table for the stack's.
    const bed = await migrationBed();
    const adapt = (block: string) =>
      block
        .replaceAll('FenceBucketBroker-Registry', bed.table)
        .replaceAll('--config fence-config.yaml', `--config ${bed.configPath}`);
    const env = { FENCE_SECRETS_PREFIX: bed.prefix };

    // Act: the dry run alone first (its exit code), then the block as shown.
    const plan = await bash(adapt(docBlock(PAGE, SECTION).split('\n')[0] ?? ''), env);
    const first = await bash(adapt(docBlock(PAGE, SECTION)), env);
    const firstFile = readFileSync(bed.configPath, 'utf8');
    const second = await bash(adapt(docBlock(PAGE, SECTION, 'bash', 1)), env);

    // Assess: the dry run exits 1, as the page says, since CRED-DATA's keys would stay.
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('Plan (dry run: nothing written)');
    expect(plan.stdout).toContain('kept CRED-DATA: ');
    expect(docPage(PAGE).replace(/\s+/g, ' ')).toContain(
      'The dry run exits the same way for its plan: 0 when the run would leave nothing, 1 when anything would be left',
    );
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
      for (const output of [
        plan.stdout,
        plan.stderr,
        first.stdout,
        first.stderr,
        second.stdout,
        second.stderr,
      ]) {
        expect(output).not.toContain(key);
      }
    }
  }, 180_000);
});
