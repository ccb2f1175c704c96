/**
 * @secrets-manager-on-moto turning rotation on is RotateSecret with a rotation function ARN, which LocalStack refuses unless it can run that Lambda; moto_server.py gives moto AWS's RotateSecret semantics
 * @sts-on-moto the key's account (GetAccessKeyInfo) must be answered by the STS that knows moto's IAM users; LocalStack's STS answers for its own account
 */
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { secretsManager } from '../support/aws';
import { docBlock } from '../support/doc-block';
import { iamRotationBed, ROTATION_FUNCTION_ARN } from '../support/iam-rotation-bed';
import { runReadmeBash as bash, docPage } from '../support/readme';

const PAGE = 'docs/fence.md';
const SECTION = '## Turning on rotation for migrated AWS keys';

describe('docs/fence.md: Turning on rotation for migrated AWS keys', () => {
  it('runs the dry run and the run as shown: one credential rotated, the others refused with their reasons', async () => {
    // Prepare: the bed's users and file stand in for the deployment's, its table and path for the stack's.
    const bed = await iamRotationBed();
    const block = docBlock(PAGE, SECTION)
      .replaceAll('FenceBucketBroker-Registry', bed.table)
      .replaceAll('--config fence-config.yaml', `--config ${bed.configPath}`)
      .replaceAll('=/gen3-buckets/', `=${bed.userPath}`);
    const lines = block.split('\n');
    const env = { FENCE_SECRETS_PREFIX: bed.prefix };

    // Act: the exports and the dry run alone first (its output), then the whole block.
    const plan = await bash(lines.slice(0, 3).join('\n'), env);
    const run = await bash(block, env);
    const name = `${bed.prefix}fence-config/CRED-ROTATED`;
    const sm = secretsManager();
    const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    const value = await sm.send(new GetSecretValueCommand({ SecretId: name }));

    // Assess: the page's ARN is the one the bed uses, so the schedule points at it.
    expect(block).toContain(`FENCE_IAM_ROTATION_FUNCTION_ARN=${ROTATION_FUNCTION_ARN}`);
    expect(plan.stdout).toContain('Plan (dry run: nothing written)');
    expect(plan.stdout).toMatch(/CRED-ROTATED\s*│[^\n]*would_enable/);
    for (const reason of ['outside_path', 'keys_in_use', 'other_account']) {
      expect(plan.stdout).toContain(reason);
      expect(docPage(PAGE)).toContain(`| \`${reason}\` |`);
    }
    expect(plan.code).toBe(1);
    expect(run.stdout).toMatch(/CRED-ROTATED\s*│[^\n]*│\s*enabled/);
    expect(run.stdout).toMatch(/rotation enabled\s*│\s*1/);
    expect(run.code).toBe(1);
    expect(described).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: ROTATION_FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 30 },
    });
    expect(described.Tags).toContainEqual({ Key: 'fence-bucket-broker:rotation', Value: 'iam-user-key' });
    expect(JSON.parse(String(value.SecretString))).toMatchObject({
      iam_user_name: bed.users['CRED-ROTATED'],
    });
    for (const key of bed.keyValues) {
      for (const output of [plan.stdout, plan.stderr, run.stdout, run.stderr])
        expect(output).not.toContain(key);
    }
  }, 180_000);
});
