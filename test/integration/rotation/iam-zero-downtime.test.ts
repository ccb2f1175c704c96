/**
 * The IAM user key rotation proven against a server that checks keys: a moto of its own started
 * with INITIAL_NO_AUTH_ACTION_COUNT (services/moto.ts, startAuthenticatedMoto), where a request
 * signed with an unknown or deleted access key is refused. moto 5 checks header-signed SigV4
 * only (a presigned URL gets a 500 whatever its key, shown below), and does not refuse an
 * Inactive key; so readers here make header-signed S3 calls, and "refused" means deleted.
 *
 * The rotation's clock is a test clock, moved past the grace between rotations: a reader's
 * requests are interleaved with the steps (before and after each), so nothing depends on timing.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { GetObjectCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { IamAccessKeys } from '../../../functions/shared/rotation/iam-access-keys';
import { IamUserKeyRotation } from '../../../functions/shared/rotation/iam-user-key-rotation';
import { RotationStore } from '../../../functions/shared/rotation/rotation-store';
import { ROTATION_STEPS } from '../../../functions/shared/rotation/secret-rotation';
import { type AuthenticatedMoto, startAuthenticatedMoto } from '../services/moto';
import { accessKeysOf, createRotatingIamSecret, ROTATED_PATH } from '../support/rotating-iam-user';
import { ROTATION_LAMBDA_ARN } from '../support/rotation-driver';
import { fixedGrace } from '../support/rotation-fixture';

interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

const GRACE_SECONDS = 600;
let moto: AuthenticatedMoto;
const region = 'us-east-1';
const signedBy = (credentials: KeyPair) => ({ endpoint: moto.endpoint, region, credentials });
const s3As = (key: KeyPair) => new S3Client({ ...signedBy(key), forcePathStyle: true, maxAttempts: 1 });

/** A reader's header-signed S3 calls with `key`: HEAD of the bucket and GET of an object. */
async function readsWith(key: KeyPair, bucket: string): Promise<boolean> {
  const s3 = s3As(key);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'probe.txt' }));
    return (await object.Body?.transformToString()) === 'hello';
  } catch {
    return false;
  } finally {
    s3.destroy();
  }
}

beforeAll(async () => {
  moto = await startAuthenticatedMoto();
}, 60_000);
afterAll(async () => {
  await moto?.process.stop();
});

describe('IAM user key rotation against a moto that checks keys', () => {
  jest.setTimeout(120_000);

  it('moto checks header-signed calls (unknown key refused) but not presigned URLs (500 whatever the key)', async () => {
    // Prepare
    const admin = moto.admin;
    const { bucket } = await createRotatingIamSecret({
      iam: new IAMClient(signedBy(admin)),
      s3: s3As(admin),
      sm: new SecretsManagerClient(signedBy(admin)),
    });
    // An access key id no IAM user holds (shaped so it cannot pass for a real one).
    const unknown = { accessKeyId: 'AKIA-NO-SUCH-KEY', secretAccessKey: 'not-a-secret-of-anyone' };

    // Act
    const adminReads = await readsWith(admin, bucket);
    const unknownReads = await readsWith(unknown, bucket);
    const presigned = await fetch(
      await getSignedUrl(s3As(admin), new GetObjectCommand({ Bucket: bucket, Key: 'probe.txt' })),
    );

    // Assess
    expect(adminReads).toBe(true);
    expect(unknownReads).toBe(false);
    expect(presigned.status).toBe(500);
  });

  it('through four rotations a reader of AWSCURRENT never fails; the key two rotations old is refused after its grace; the new one works', async () => {
    // Prepare
    const admin = moto.admin;
    const iam = new IAMClient(signedBy(admin));
    const sm = new SecretsManagerClient(signedBy(admin));
    const secret = await createRotatingIamSecret({ iam, s3: s3As(admin), sm });
    let now = Date.now();
    const core = new IamUserKeyRotation({
      store: new RotationStore(sm),
      iam: new IamAccessKeys(iam),
      userPath: ROTATED_PATH,
      grace: fixedGrace(GRACE_SECONDS),
      s3Endpoint: () => new URL(moto.endpoint),
      clock: () => new Date(now),
    });
    const current = async (): Promise<KeyPair> => {
      const answer = await sm.send(
        new GetSecretValueCommand({ SecretId: secret.name, VersionStage: 'AWSCURRENT' }),
      );
      const payload = JSON.parse(answer.SecretString ?? '{}');
      return { accessKeyId: payload.access_key_id, secretAccessKey: payload.secret_access_key };
    };
    const readerFailures: string[] = [];
    const freshRead = async (when: string) => {
      if (!(await readsWith(await current(), secret.bucket))) readerFailures.push(when);
    };
    const history: KeyPair[] = [secret.first];
    const oldRefused: boolean[] = [];
    const previousStillWorks: boolean[] = [];

    // Act
    for (let round = 1; round <= 4; round++) {
      now += (GRACE_SECONDS + 60) * 1000; // the schedule's interval: longer than the grace
      const token = crypto.randomUUID();
      await sm.send(
        new RotateSecretCommand({
          SecretId: secret.name,
          ClientRequestToken: token,
          RotationLambdaARN: ROTATION_LAMBDA_ARN,
        }),
      );
      for (const step of ROTATION_STEPS) {
        await freshRead(`round ${round} before ${step}`);
        await core.run({ Step: step, SecretId: secret.name, ClientRequestToken: token });
        await freshRead(`round ${round} after ${step}`);
        const twoOld = history[round - 2];
        if (step === 'createSecret' && twoOld !== undefined)
          oldRefused.push(!(await readsWith(twoOld, secret.bucket)));
      }
      // A reader that loaded the key just before the move keeps it for its grace.
      previousStillWorks.push(await readsWith(history[round - 1] as KeyPair, secret.bucket));
      history.push(await current());
    }

    // Assess
    expect(readerFailures).toEqual([]);
    expect(oldRefused).toEqual([true, true, true]);
    expect(previousStillWorks).toEqual([true, true, true, true]);
    expect(await readsWith(history[4] as KeyPair, secret.bucket)).toBe(true);
    expect(await accessKeysOf(iam, secret.user)).toEqual(
      new Set([history[3]?.accessKeyId, history[4]?.accessKeyId]),
    );
  });

  it('testSecret refuses a key the server does not know, after waiting within the step budget', async () => {
    // Prepare
    const admin = moto.admin;
    const iam = new IAMClient(signedBy(admin));
    const sm = new SecretsManagerClient(signedBy(admin));
    const secret = await createRotatingIamSecret({ iam, s3: s3As(admin), sm });
    const core = new IamUserKeyRotation({
      store: new RotationStore(sm),
      iam: new IamAccessKeys(iam),
      userPath: ROTATED_PATH,
      grace: fixedGrace(GRACE_SECONDS),
      s3Endpoint: () => new URL(moto.endpoint),
      sleep: async () => undefined,
    });
    const token = crypto.randomUUID();
    await sm.send(
      new RotateSecretCommand({
        SecretId: secret.name,
        ClientRequestToken: token,
        RotationLambdaARN: ROTATION_LAMBDA_ARN,
      }),
    );
    await core.run({ Step: 'createSecret', SecretId: secret.name, ClientRequestToken: token });
    const pending = await sm.send(
      new GetSecretValueCommand({ SecretId: secret.name, VersionStage: 'AWSPENDING', VersionId: token }),
    );
    const pendingKey = JSON.parse(pending.SecretString ?? '{}').access_key_id as string;
    await new IamAccessKeys(iam).delete(secret.user, pendingKey);

    // Act
    let budgetAsked = 0;
    const tested = core.run(
      { Step: 'testSecret', SecretId: secret.name, ClientRequestToken: token },
      {
        remainingMs: () => {
          budgetAsked++;
          return 5_000;
        },
      },
    );

    // Assess
    await expect(tested).rejects.toMatchObject({ name: 'CredentialsRejectedError' });
    expect(budgetAsked).toBeGreaterThan(0);
  });
});
