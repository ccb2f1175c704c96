/**
 * @secrets-manager-on-moto RotationDriver plays Secrets Manager's part, with moto_server.py's AWS
 * semantics for RotateSecret and stage moves (as minio-key-rotation.test.ts); IAM is moto's.
 *
 * The IAM user key rotation against moto's IAM, S3 and Secrets Manager, with the faults the
 * MinIO rotation is tested with. Each fault test reads the user's keys (ListAccessKeys) right
 * after the faulted step. moto's shared server does not check signatures: keys working or not
 * is proven in iam-zero-downtime.test.ts, on a moto that does.
 */
import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { IamAccessKeys } from '../../../functions/shared/rotation/iam-access-keys';
import {
  CREATING_TAG,
  IamUserKeyRotation,
  type IamUserKeyRotationDependencies,
} from '../../../functions/shared/rotation/iam-user-key-rotation';
import { IamUserKeyLimitError, RotationError } from '../../../functions/shared/rotation/rotation-errors';
import { RotationStore } from '../../../functions/shared/rotation/rotation-store';
import { ROTATION_STEPS, type RotationStep } from '../../../functions/shared/rotation/secret-rotation';
import { secretsManager } from '../support/aws';
import {
  accessKeysOf,
  createRotatingIamSecret,
  ROTATED_PATH,
  type RotatingIamSecret,
} from '../support/rotating-iam-user';
import { ROTATION_LAMBDA_ARN, RotationDriver } from '../support/rotation-driver';
import { fixedGrace, keyAt } from '../support/rotation-fixture';

const sm = secretsManager();
const s3 = new S3Client({ forcePathStyle: true });
const iamClient = () => new IAMClient({});
const iam = iamClient();

const rotation = (overrides: Partial<IamUserKeyRotationDependencies> = {}) =>
  new IamUserKeyRotation({
    store: new RotationStore(sm),
    iam: new IamAccessKeys(iamClient()),
    userPath: ROTATED_PATH,
    grace: fixedGrace(0),
    // moto's S3 here accepts any key; a new key is valid at once.
    propagationWaitMs: 0,
    ...overrides,
  });
const driver = (core: IamUserKeyRotation) => new RotationDriver(sm, (event) => core.run(event));
const newSecret = (options: Parameters<typeof createRotatingIamSecret>[1] = {}) =>
  createRotatingIamSecret({ iam, s3, sm }, options);
const keysOf = (secret: RotatingIamSecret) => accessKeysOf(iam, secret.user);
const at = async (secret: RotatingIamSecret, stage: string) =>
  (await keyAt(sm, secret.name, stage)).access_key_id;

/** RotateSecret's empty AWSPENDING version under a new token, as Secrets Manager starts a rotation. */
async function startRotation(secret: RotatingIamSecret): Promise<string> {
  const token = crypto.randomUUID();
  await sm.send(
    new RotateSecretCommand({
      SecretId: secret.name,
      ClientRequestToken: token,
      RotationLambdaARN: ROTATION_LAMBDA_ARN,
    }),
  );
  return token;
}
const step = (core: IamUserKeyRotation, secret: RotatingIamSecret, token: string, name: RotationStep) =>
  core.run({ Step: name, SecretId: secret.name, ClientRequestToken: token });

/** Throws once, right after the first real call of `method` (a step killed midway). */
function crashAfter(keys: IamAccessKeys, method: keyof IamAccessKeys): IamAccessKeys {
  let crashed = false;
  return new Proxy(keys, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property !== method) return value.bind(target);
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        if (!crashed) {
          crashed = true;
          throw new Error(`injected crash after ${String(method)}`);
        }
        return result;
      };
    },
  });
}

/** An IAM client whose first `times` CreateAccessKey calls IAM answers with a throttle (moto cannot). */
function throttlingIam(times: number, maxAttempts: number): { client: IAMClient; throttled: () => number } {
  const client = new IAMClient({ maxAttempts, retryMode: 'standard' });
  let left = times;
  let throttled = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'CreateAccessKeyCommand' && left > 0) {
        left--;
        throttled++;
        throw Object.assign(new Error('Rate exceeded'), {
          name: 'Throttling',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'injectedIamThrottle', priority: 'low' },
  );
  return { client, throttled: () => throttled };
}

describe('Class: IamUserKeyRotation (moto IAM, S3, Secrets Manager)', () => {
  jest.setTimeout(60_000);

  it('rotates: the user ends with the current and previous keys, and a second rotation deletes the oldest first', async () => {
    // Prepare
    const secret = await newSecret();
    const core = rotation();

    // Act
    await driver(core).rotate(secret.name);
    const afterFirst = await keysOf(secret);
    await driver(core).rotate(secret.name);

    // Assess
    const current = await at(secret, 'AWSCURRENT');
    const previous = await at(secret, 'AWSPREVIOUS');
    expect(afterFirst).toEqual(new Set([secret.first.accessKeyId, previous]));
    expect(await keysOf(secret)).toEqual(new Set([current, previous]));
    expect(await keysOf(secret)).not.toContain(secret.first.accessKeyId);
    const payload = await keyAt(sm, secret.name, 'AWSCURRENT');
    expect(payload).toMatchObject({ iam_user_name: secret.user, aws_bucket: secret.bucket });
  });

  it('two-key limit: with the previous key within its grace, createSecret names both keys and creates nothing', async () => {
    // Prepare
    const secret = await newSecret();
    await driver(rotation({ grace: fixedGrace(3600) })).rotate(secret.name);
    const before = await keysOf(secret);
    const token = await startRotation(secret);

    // Act
    const failure = step(rotation({ grace: fixedGrace(3600) }), secret, token, 'createSecret');

    // Assess
    await expect(failure).rejects.toBeInstanceOf(IamUserKeyLimitError);
    await expect(failure).rejects.toThrow(
      new RegExp(
        `still has two access keys \\(.*…${secret.first.accessKeyId.slice(-4)}.*\\).*within its grace`,
      ),
    );
    const error = (await failure.catch((caught: unknown) => caught)) as IamUserKeyLimitError;
    expect([...before].map((key) => `…${key.slice(-4)}`).sort()).toEqual([...error.keyHints].sort());
    expect(await keysOf(secret)).toEqual(before);
    const pending = await keyAt(sm, secret.name, 'AWSPENDING').then(
      (payload) => payload.access_key_id,
      () => undefined,
    );
    expect(pending).toBeUndefined();
  });

  it('a createSecret killed after CreateAccessKey: its key is left; the replay deletes it and creates one key', async () => {
    // Prepare
    const secret = await newSecret();
    const token = await startRotation(secret);
    const killed = rotation({ iam: crashAfter(new IamAccessKeys(iamClient()), 'create') });

    // Act
    await expect(step(killed, secret, token, 'createSecret')).rejects.toThrow('injected crash after create');
    const afterFault = await keysOf(secret);
    await step(rotation(), secret, token, 'createSecret');

    // Assess
    expect(afterFault.size).toBe(2);
    const lost = [...afterFault].find((key) => key !== secret.first.accessKeyId) ?? '';
    const pending = await at(secret, 'AWSPENDING');
    expect(pending).not.toBe(lost);
    expect(await keysOf(secret)).toEqual(new Set([secret.first.accessKeyId, pending]));
  });

  it('a createSecret killed after storing AWSPENDING: the replay keeps that key and creates none', async () => {
    // Prepare
    const secret = await newSecret();
    const token = await startRotation(secret);
    const killed = rotation({ iam: crashAfter(new IamAccessKeys(iamClient()), 'untag') });

    // Act
    await expect(step(killed, secret, token, 'createSecret')).rejects.toThrow('injected crash after untag');
    const afterFault = await keysOf(secret);
    await step(rotation(), secret, token, 'createSecret');

    // Assess
    const pending = await at(secret, 'AWSPENDING');
    expect(afterFault).toEqual(new Set([secret.first.accessKeyId, pending]));
    expect(await keysOf(secret)).toEqual(afterFault);
  });

  it('every step delivered twice: one new key, the same as a single delivery', async () => {
    // Prepare: a grace long enough that the previous key stays (grace 0 would retire it on the replay)
    const secret = await newSecret();
    const core = rotation({ grace: fixedGrace(3600) });
    const token = await startRotation(secret);
    const keysAfter: Record<string, Set<string>> = {};

    // Act
    for (const name of ROTATION_STEPS) {
      await step(core, secret, token, name);
      await step(core, secret, token, name);
      keysAfter[name] = await keysOf(secret);
    }

    // Assess
    const current = await at(secret, 'AWSCURRENT');
    for (const name of ROTATION_STEPS)
      expect(keysAfter[name]).toEqual(new Set([secret.first.accessKeyId, current]));
    expect(await at(secret, 'AWSPREVIOUS')).toBe(secret.first.accessKeyId);
  });

  it('a createSecret delivered twice at once: one key stands in AWSPENDING, the user holds no other new key', async () => {
    // Prepare
    const secret = await newSecret();
    const token = await startRotation(secret);

    // Act
    const results = await Promise.allSettled([
      step(rotation(), secret, token, 'createSecret'),
      step(rotation(), secret, token, 'createSecret'),
    ]);
    const afterFault = await keysOf(secret);
    await step(rotation(), secret, token, 'createSecret');

    // Assess
    expect(results.some((result) => result.status === 'fulfilled')).toBe(true);
    const pending = await at(secret, 'AWSPENDING');
    expect(afterFault).toEqual(new Set([secret.first.accessKeyId, pending]));
    expect(await keysOf(secret)).toEqual(afterFault);
  });

  it('IAM throttling: retries of the SDK absorb it; when they run out the step fails having created nothing', async () => {
    // Prepare
    const secret = await newSecret();
    const token = await startRotation(secret);
    const exhausted = throttlingIam(5, 1);
    const absorbed = throttlingIam(2, 3);

    // Act
    const failed = step(
      rotation({ iam: new IamAccessKeys(exhausted.client) }),
      secret,
      token,
      'createSecret',
    );
    await expect(failed).rejects.toMatchObject({ name: 'Throttling' });
    const afterFault = await keysOf(secret);
    await step(rotation({ iam: new IamAccessKeys(absorbed.client) }), secret, token, 'createSecret');

    // Assess
    expect(exhausted.throttled()).toBe(1);
    expect(absorbed.throttled()).toBe(2);
    expect(afterFault).toEqual(new Set([secret.first.accessKeyId]));
    expect(await keysOf(secret)).toEqual(new Set([secret.first.accessKeyId, await at(secret, 'AWSPENDING')]));
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: secret.user }));
    expect(listed.AccessKeyMetadata?.every((key) => key.Status === 'Active')).toBe(true);
  });

  it('a replay of every step after success changes neither the keys nor the stages', async () => {
    // Prepare
    const secret = await newSecret();
    const core = rotation({ grace: fixedGrace(3600) });
    const token = await driver(core).rotate(secret.name);
    const keys = await keysOf(secret);
    const stages = (await sm.send(new DescribeSecretCommand({ SecretId: secret.name }))).VersionIdsToStages;

    // Act
    for (const name of ROTATION_STEPS) await step(core, secret, token, name);

    // Assess
    expect(await keysOf(secret)).toEqual(keys);
    expect((await sm.send(new DescribeSecretCommand({ SecretId: secret.name }))).VersionIdsToStages).toEqual(
      stages,
    );
  });

  it('a pinned key (a custom staging label) is kept: it holds one of the two slots until it is unpinned', async () => {
    // Prepare
    const secret = await newSecret();
    const described = await sm.send(new DescribeSecretCommand({ SecretId: secret.name }));
    const firstVersion = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) =>
      stages.includes('AWSCURRENT'),
    )?.[0];
    const pin = (move: boolean) =>
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secret.name,
          VersionStage: 'pinned-by-record',
          ...(move ? { MoveToVersionId: firstVersion } : { RemoveFromVersionId: firstVersion }),
        }),
      );
    await pin(true);
    const core = rotation();

    // Act
    await driver(core).rotate(secret.name);
    const afterFirst = await keysOf(secret);
    const token = crypto.randomUUID();
    const blocked = driver(core).rotate(secret.name, { maxAttempts: 1, token });
    await expect(blocked).rejects.toThrow(/still has two access keys .*is in use \(.*pinned-by-record/);
    const afterBlocked = await keysOf(secret);
    await pin(false);
    // Secrets Manager retries the unfinished rotation under its token.
    await driver(core).rotate(secret.name, { token });

    // Assess
    const second = afterFirst;
    expect(second).toEqual(
      new Set([secret.first.accessKeyId, [...second].find((key) => key !== secret.first.accessKeyId)]),
    );
    expect(afterBlocked).toEqual(afterFirst);
    expect(await keysOf(secret)).not.toContain(secret.first.accessKeyId);
    expect(await keysOf(secret)).toEqual(
      new Set([await at(secret, 'AWSCURRENT'), await at(secret, 'AWSPREVIOUS')]),
    );
  });

  it('a user outside ROTATED_IAM_USER_PATH is refused before any key is created', async () => {
    // Prepare
    const secret = await newSecret({ path: '/elsewhere/' });
    const token = await startRotation(secret);

    // Act
    const refused = step(rotation(), secret, token, 'createSecret');

    // Assess
    await expect(refused).rejects.toBeInstanceOf(RotationError);
    await expect(refused).rejects.toThrow(`outside ${ROTATED_PATH}`);
    expect(await keysOf(secret)).toEqual(new Set([secret.first.accessKeyId]));
  });

  it('leaves no in-flight mark on the user once AWSPENDING is stored', async () => {
    // Prepare
    const secret = await newSecret();

    // Act
    await driver(rotation()).rotate(secret.name);

    // Assess
    const user = await new IamAccessKeys(iam).user(secret.user);
    expect(user.tags.has(CREATING_TAG)).toBe(false);
    expect([...user.tags.keys()]).toEqual([`fence-bucket-broker:demoted:${secret.first.accessKeyId}`]);
  });
});
