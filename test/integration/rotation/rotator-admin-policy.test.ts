/**
 * @secrets-manager-on-moto full rotations through RotationDriver need AWS's rotation
 * semantics, which moto_server.py gives moto; LocalStack refuses RotateSecret without the rotation
 * Lambda (localstack-semantics.localstack.test.ts).
 */
import { randomBytes } from 'node:crypto';
import {
  MinioAdminClient,
  type MinioPolicyDocument,
} from '../../../functions/shared/minio/minio-admin-client';
import { readEndpoints } from '../services/endpoints';
import { secretsManager, uniqueName } from '../support/aws';
import { docBlock } from '../support/doc-block';
import { createRotatingMinioSecret } from '../support/rotating-minio-secret';
import { RotationDriver } from '../support/rotation-driver';
import { fixedGrace, keyAt, testRotation, works } from '../support/rotation-fixture';

const { minio } = readEndpoints();
const sm = secretsManager();
const root = new MinioAdminClient({
  endpoint: minio.endpoint,
  accessKey: minio.rootUser,
  secretKey: minio.rootPassword,
});

/** The rotator's admin policy exactly as the rotation runbook shows it, so the two cannot drift. */
function runbookRotatorPolicy(): MinioPolicyDocument {
  return JSON.parse(docBlock('docs/rotation.md', '## 1. Set up MinIO', 'json')) as MinioPolicyDocument;
}

/** A MinIO user holding `policy` (as `mc admin policy create` + `attach` would make it). */
async function rotatorWith(policy: MinioPolicyDocument): Promise<{ accessKey: string; secretKey: string }> {
  const name = uniqueName('fence-rotator');
  const rotator = { accessKey: name, secretKey: randomBytes(24).toString('base64url') };
  await root.addPolicy(name, policy);
  await root.addUser(rotator.accessKey, rotator.secretKey);
  await root.attachPolicies(rotator.accessKey, [name]);
  return rotator;
}

describe('The rotator admin policy of the rotation runbook (real MinIO)', () => {
  it('is accepted by MinIO, and full rotations run under it: adopt, stamp, expire, delete, replayed setSecret', async () => {
    // Prepare
    const admin = await rotatorWith(runbookRotatorPolicy());
    const secret = await createRotatingMinioSecret(minio, sm, { admin });
    let ahead = 0; // the rotation's clock, moved past the grace below
    const run = testRotation(sm, { grace: fixedGrace(3600), clock: () => new Date(Date.now() + ahead) });
    const twice = new RotationDriver(sm, async (event) => {
      await run.run(event);
      await run.run(event); // a replayed setSecret finds its key through info
    });

    // Act
    await twice.rotate(secret.name); // adopts and stamps the first key
    await twice.rotate(secret.name); // the first key, unlabelled within its grace, gets an expiration
    const expiring = (await root.listServiceAccounts(secret.parent)).find(
      (key) => key.accessKey === secret.first.accessKey,
    );
    ahead = 3601_000;
    await twice.rotate(secret.name); // deletes the keys past their grace

    // Assess
    const current = await keyAt(sm, secret.name, 'AWSCURRENT');
    const previous = await keyAt(sm, secret.name, 'AWSPREVIOUS');
    const keys = (await root.listServiceAccounts(secret.parent)).map((key) => key.accessKey);
    expect(new Set(keys)).toEqual(new Set([current.access_key_id, previous.access_key_id]));
    expect(await works(minio, secret.bucket, current)).toBe(true);
    expect(Date.parse(expiring?.expiration ?? '')).toBeGreaterThan(Date.now());
  }, 240_000);

  it.each(runbookRotatorPolicy().Statement.flatMap((statement) => statement.Action as string[]))(
    'is minimal: without %s, rotation fails',
    async (action) => {
      // Prepare
      const policy = runbookRotatorPolicy();
      const reduced: MinioPolicyDocument = {
        ...policy,
        Statement: policy.Statement.map((statement) => ({
          ...statement,
          Action: (statement.Action as string[]).filter((each) => each !== action),
        })),
      };
      const admin = await rotatorWith(reduced);
      const secret = await createRotatingMinioSecret(minio, sm, { admin });
      const rotations = new RotationDriver(sm, (event) => testRotation(sm).run(event));

      // Act: two rotations with grace 0 call every admin action once at least.
      const outcome = await rotations
        .rotate(secret.name, { maxAttempts: 1 })
        .then(() => rotations.rotate(secret.name, { maxAttempts: 1 }))
        .then(
          () => 'completed',
          (error: unknown) => (error as Error).name,
        );

      // Assess
      // Refused by MinIO: at once (create, list), or when finishSecret retires (update, delete).
      expect(outcome).toMatch(/^(CredentialsRejectedError|RotationRetirementError)$/);
    },
    120_000,
  );
});
