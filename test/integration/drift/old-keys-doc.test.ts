/**
 * @secrets-manager-on-moto the key's age is its version's creation date from ListSecretVersionIds,
 * which moto_server.py makes moto report as AWS does.
 */
import { ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { DRIFT_CHECK_NAMES, type DriftBucketResult } from '../../../functions/shared/drift/drift-results';
import { secretsManager } from '../support/aws';
import { awsKeyBucket } from '../support/aws-key-bucket';
import { docBlock } from '../support/doc-block';
import { driftBed } from '../support/drift-bed';
import { runReadmeBash as bash } from '../support/readme';

const PAGE = 'docs/drift.md';
const SECTION = '## Old AWS keys and overdue rotations';

describe('docs/drift.md: Old AWS keys and overdue rotations', () => {
  it('runs the command as shown: the bucket marked for IAM-key rotation without rotation fails, the plain one passes', async () => {
    // Prepare: the page's my-aws-dataset (a plain key) and my-iam-dataset (iam_user_name and the tag).
    const bed = await driftBed();
    const plain = await awsKeyBucket(bed.registry);
    const marked = await awsKeyBucket(bed.registry, { iamUser: 'gen3-reader' });
    const command = docBlock(PAGE, SECTION)
      .replaceAll('FenceBucketBroker-Registry', bed.tableName)
      .replaceAll('my-aws-dataset', plain.bucket)
      .replaceAll('my-iam-dataset', marked.bucket);

    // Act
    const run = await bash(command, {});

    // Assess
    expect(command.trim().split('\n')).toHaveLength(1);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(marked.bucket);
    expect(run.stdout).toContain(
      `rotation is not enabled on ${marked.name}, an IAM-rotated secret (it names iam_user_name)`,
    );
    expect(run.stdout).not.toContain(plain.bucket);
    expect(run.stdout).toMatch(/1 of 2 bucket\(s\) passed, 1 failed, 0 suspended \(not checked\)/);
  }, 180_000);

  it('shows an old key without rotation in the shape and words the check writes', async () => {
    // Prepare: a run 334 days after the key's version was created (moto stamps versions with its own time).
    const bed = await driftBed();
    const plain = await awsKeyBucket(bed.registry);
    const versions = (await secretsManager().send(new ListSecretVersionIdsCommand({ SecretId: plain.arn })))
      .Versions;
    const created = versions?.find((version) => version.VersionStages?.includes('AWSCURRENT'))?.CreatedDate;
    const at = new Date((created ?? new Date(Number.NaN)).getTime() + 334 * 86_400_000 + 60_000);
    const shown = JSON.parse(docBlock(PAGE, SECTION, 'json')) as DriftBucketResult;

    // Act
    const [result] = (
      await bed
        .drift({ clock: () => at })
        .run({ buckets: [plain.bucket], concurrency: 1, checkTimeoutMs: 10_000 })
    ).results;

    // Assess
    expect(Object.keys(shown).sort()).toEqual(Object.keys(result ?? {}).sort());
    expect(result?.status).toBe(shown.status);
    for (const check of shown.checks) {
      expect(Object.keys(check).sort()).toEqual(['message', 'name', 'ok']);
      expect(DRIFT_CHECK_NAMES).toContain(check.name);
      const real = result?.checks.find((entry) => entry.name === check.name);
      expect(real?.ok).toBe(check.ok);
      // The page's names, key hint and date stand for the real ones; the age is the run's.
      const pattern = check.message
        .replaceAll('gen3/fence/aws/my-aws-dataset', '\u0000')
        .replaceAll('my-aws-dataset', '\u0000')
        .replace('…WXYZ', '\u0001')
        .replace('2026-01-05T10:00:00.000Z', '\u0002')
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replaceAll('\u0000', '\\S+')
        .replace('\u0001', `…${plain.key.access_key_id.slice(-4)}`)
        .replace('\u0002', created?.toISOString() ?? '');
      expect(real?.message).toMatch(new RegExp(`^${pattern}$`));
    }
  }, 180_000);
});
