/**
 * @secrets-manager-on-moto the rotation runs as in iam-user-key-rotation.test.ts.
 *
 * docs/rotation.md, "Rotating AWS IAM user keys": the payload it shows is one the rotation
 * reads, and its commands, run as the page shows them against moto after a rotation, list the
 * user's two keys and the stamp of the one that left use.
 */
import { spawnSync } from 'node:child_process';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { IamAccessKeys } from '../../../functions/shared/rotation/iam-access-keys';
import { IamRotationSecretSchema } from '../../../functions/shared/rotation/iam-rotation-secret';
import { IamUserKeyRotation } from '../../../functions/shared/rotation/iam-user-key-rotation';
import { RotationStore } from '../../../functions/shared/rotation/rotation-store';
import { secretsManager } from '../support/aws';
import { docBlock } from '../support/doc-block';
import { createRotatingIamSecret, ROTATED_PATH } from '../support/rotating-iam-user';
import { RotationDriver } from '../support/rotation-driver';
import { fixedGrace, keyAt } from '../support/rotation-fixture';

const PAGE = 'docs/rotation.md';
const SECTION = '## Rotating AWS IAM user keys';

describe('docs/rotation.md: Rotating AWS IAM user keys', () => {
  it('shows a secret payload the IAM rotation reads', () => {
    // Act
    const parsed = IamRotationSecretSchema.safeParse(JSON.parse(docBlock(PAGE, SECTION, 'json')));

    // Assess
    expect(parsed.success).toBe(true);
  });

  it("lists the user's current and previous keys and the previous key's demotion stamp", async () => {
    // Prepare
    const sm = secretsManager();
    const iam = new IAMClient({});
    const secret = await createRotatingIamSecret({ iam, s3: new S3Client({ forcePathStyle: true }), sm });
    const rotation = new IamUserKeyRotation({
      store: new RotationStore(sm),
      iam: new IamAccessKeys(iam),
      userPath: ROTATED_PATH,
      grace: fixedGrace(3600),
      propagationWaitMs: 0,
    });
    await new RotationDriver(sm, (event) => rotation.run(event)).rotate(secret.name);
    const current = (await keyAt(sm, secret.name, 'AWSCURRENT')).access_key_id;

    // Act
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', docBlock(PAGE, SECTION, 'bash')], {
      encoding: 'utf8',
      env: { ...process.env, IAM_USER: secret.user, AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '' },
      timeout: 60_000,
    });

    // Assess
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines).toContain(`${current}\tActive`);
    expect(lines).toContain(`${secret.first.accessKeyId}\tActive`);
    const stamp = new RegExp(
      `^fence-bucket-broker:demoted:${secret.first.accessKeyId}\t\\d{4}-\\d{2}-\\d{2}T`,
    );
    expect(lines.filter((line) => stamp.test(line))).toHaveLength(1);
  }, 90_000);
});
