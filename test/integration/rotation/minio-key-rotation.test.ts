/**
 * @secrets-manager-on-moto RotationDriver plays Secrets Manager's part (RotateSecret, then
 * the four steps) and every step checks version stages as AWS sets them. moto_server.py gives moto
 * AWS's semantics; LocalStack refuses RotateSecret without the rotation Lambda and overwrites a
 * used token's value where AWS refuses (localstack-semantics.localstack.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import {
  MinioAdminClient,
  type ServiceAccountInfo,
} from '../../../functions/shared/minio/minio-admin-client';
import { hasExpiration } from '../../../functions/shared/rotation/key-retirement-plan';
import {
  readManagedKeyTag,
  secretArnHash,
  writeManagedKeyTag,
} from '../../../functions/shared/rotation/managed-key-tag';
import { RotationStore } from '../../../functions/shared/rotation/rotation-store';
import { writeSelfSignedCertificate } from '../services/certificates';
import { readEndpoints } from '../services/endpoints';
import { minioRootClient, secretsManager, uniqueName } from '../support/aws';
import { createRotatingMinioSecret, type RotatingMinioSecret } from '../support/rotating-minio-secret';
import { ROTATION_LAMBDA_ARN, RotationDriver } from '../support/rotation-driver';
import { fixedGrace, type KeyPair, keyAt, testRotation, works } from '../support/rotation-fixture';
import { TcpProxy } from '../support/tcp-proxy';

const { minio } = readEndpoints();
const sm = secretsManager();
const root = new MinioAdminClient({
  endpoint: minio.endpoint,
  accessKey: minio.rootUser,
  secretKey: minio.rootPassword,
});

const rotatingMinioSecret = (options: Parameters<typeof createRotatingMinioSecret>[2] = {}) =>
  createRotatingMinioSecret(minio, sm, options);
const driver = (run: (event: unknown) => Promise<void>) => new RotationDriver(sm, run);
const canList = (bucket: string, key: KeyPair) => works(minio, bucket, key);
const keysOf = async (parent: string) =>
  new Set((await root.listServiceAccounts(parent)).map((key) => key.accessKey));
const firstKey = (secret: RotatingMinioSecret): KeyPair => ({
  access_key_id: secret.first.accessKey,
  secret_access_key: secret.first.secretKey,
});

/** Throws the first `times` calls of `method` on `target`, before or after the real call. */
function failing<T extends object>(target: T, method: keyof T, times: number, after: boolean): T {
  let left = times;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (property !== method || typeof value !== 'function')
        return typeof value === 'function' ? value.bind(object) : value;
      return async (...args: unknown[]) => {
        if (left > 0 && !after) {
          left--;
          throw new Error(`injected fault before ${String(method)}`);
        }
        const result = await value.apply(object, args);
        if (left > 0 && after) {
          left--;
          throw new Error(`injected crash after ${String(method)}`);
        }
        return result;
      };
    },
  });
}

/** Runs `after` once, right after the first successful call of `method` on `target`. */
function onceAfter<T extends object>(target: T, method: keyof T, after: () => Promise<void>): T {
  let done = false;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      if (property !== method) return value.bind(object);
      return async (...args: unknown[]) => {
        const result = await value.apply(object, args);
        if (!done) {
          done = true;
          await after();
        }
        return result;
      };
    },
  });
}

/** Right after a rotation: exactly the current and previous keys exist, and the current one works. */
async function expectOnlyCurrentAndPrevious(secret: RotatingMinioSecret): Promise<void> {
  const current = await keyAt(sm, secret.name, 'AWSCURRENT');
  const previous = await keyAt(sm, secret.name, 'AWSPREVIOUS');
  expect(await keysOf(secret.parent)).toEqual(new Set([current.access_key_id, previous.access_key_id]));
  expect(await canList(secret.bucket, current)).toBe(true);
}

/** Runs `test` with a TCP proxy in front of MinIO, and always closes the proxy afterwards. */
async function throughProxy(test: (proxy: TcpProxy, url: string) => Promise<void>): Promise<void> {
  const { proxy, url } = await TcpProxy.start(minio.endpoint);
  try {
    await test(proxy, url);
  } finally {
    await proxy.close();
  }
}

const pendingToken = async (name: string) =>
  Object.entries(
    (await sm.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages ?? {},
  ).find(([, stages]) => stages.includes('AWSPENDING') && !stages.includes('AWSCURRENT'))?.[0];

describe('Class: MinioKeyRotation (real MinIO, Secrets Manager with AWS rotation semantics)', () => {
  it('rotates one secret ten times: current and previous work, older keys are gone, at most three keys exist', async () => {
    // Prepare
    const secret = await rotatingMinioSecret();
    const log: Record<string, unknown>[] = [];
    const rotations = driver((event) => testRotation(sm, { log: (entry) => log.push(entry) }).run(event));
    const seen: KeyPair[] = [firstKey(secret)];

    for (let round = 1; round <= 10; round++) {
      // Act
      await rotations.rotate(secret.name);
      const current = await keyAt(sm, secret.name, 'AWSCURRENT');
      const previous = await keyAt(sm, secret.name, 'AWSPREVIOUS');
      seen.push(current);

      // Assess
      expect(previous.access_key_id).toBe(seen[seen.length - 2]?.access_key_id);
      expect(await canList(secret.bucket, current)).toBe(true);
      expect(await canList(secret.bucket, previous)).toBe(true);
      for (const old of seen.slice(0, -2)) expect(await canList(secret.bucket, old)).toBe(false);
      expect(await keysOf(secret.parent)).toEqual(new Set([current.access_key_id, previous.access_key_id]));
    }
    expect(rotations.attempts).toBe(10);
    expect(log.filter((entry) => entry.outcome === 'done')).toHaveLength(40);
    const text = JSON.stringify(log);
    for (const key of seen) {
      expect(text).not.toContain(key.secret_access_key);
      expect(text).not.toContain(key.access_key_id);
    }
  }, 240_000);

  it('refuses malformed events and unknown secrets or tokens, and changes nothing', async () => {
    // Prepare
    const secret = await rotatingMinioSecret();
    const before = await sm.send(new DescribeSecretCommand({ SecretId: secret.name }));
    const run = testRotation(sm);

    // Act + Assess
    await expect(
      run.run({ SecretId: secret.name, ClientRequestToken: crypto.randomUUID() }),
    ).rejects.toMatchObject({ code: 'invalid_request', field: 'Step' });
    await expect(
      run.run({ Step: 'dropSecret', SecretId: secret.name, ClientRequestToken: crypto.randomUUID() }),
    ).rejects.toMatchObject({ field: 'Step' });
    await expect(
      run.run({ Step: 'createSecret', SecretId: secret.name, ClientRequestToken: 'short' }),
    ).rejects.toMatchObject({ field: 'ClientRequestToken' });
    await expect(
      run.run({
        Step: 'createSecret',
        SecretId: `gen3/fence/${uniqueName('nothing')}`,
        ClientRequestToken: crypto.randomUUID(),
      }),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    // Rotation is not enabled on this secret yet.
    await expect(
      run.run({ Step: 'createSecret', SecretId: secret.name, ClientRequestToken: crypto.randomUUID() }),
    ).rejects.toThrow(/does not have rotation enabled/);
    const after = await sm.send(new DescribeSecretCommand({ SecretId: secret.name }));
    expect(after.VersionIdsToStages).toEqual(before.VersionIdsToStages);
    // With rotation enabled, a token Secrets Manager never issued is refused too.
    await driver((event) => run.run(event)).rotate(secret.name);
    const rotated = await sm.send(new DescribeSecretCommand({ SecretId: secret.name }));
    await expect(
      run.run({ Step: 'setSecret', SecretId: secret.name, ClientRequestToken: crypto.randomUUID() }),
    ).rejects.toThrow(/has no version for rotation token/);
    expect((await sm.send(new DescribeSecretCommand({ SecretId: secret.name }))).VersionIdsToStages).toEqual(
      rotated.VersionIdsToStages,
    );
    expect(await canList(secret.bucket, firstKey(secret))).toBe(true);
  }, 60_000);

  it('refuses an http minio_endpoint unless FENCE_ALLOW_INSECURE_MINIO_HTTP opts in, naming the field and never a value', async () => {
    // Prepare
    const secret = await rotatingMinioSecret();
    const token = crypto.randomUUID();
    await sm.send(
      new RotateSecretCommand({
        SecretId: secret.name,
        ClientRequestToken: token,
        RotationLambdaARN: ROTATION_LAMBDA_ARN,
      }),
    );
    const before = await sm.send(new DescribeSecretCommand({ SecretId: secret.name }));

    // Act
    const refused = await testRotation(sm, { allowInsecureHttp: false })
      .run({ Step: 'createSecret', SecretId: secret.name, ClientRequestToken: token })
      .then(
        () => undefined,
        (error: unknown) => error as Error,
      );

    // Assess
    expect(refused).toMatchObject({ name: 'RotationError' });
    expect(refused?.message).toContain('"minio_endpoint" must use https');
    expect(refused?.message).not.toContain(minio.endpoint);
    expect(refused?.message).not.toContain('127.0.0.1');
    expect((await sm.send(new DescribeSecretCommand({ SecretId: secret.name }))).VersionIdsToStages).toEqual(
      before.VersionIdsToStages,
    );
    // The opt-in lets the same rotation through.
    await testRotation(sm).run({ Step: 'createSecret', SecretId: secret.name, ClientRequestToken: token });
    expect(
      (await keyAt(sm, secret.name, { stage: 'AWSPENDING', version: token })).access_key_id,
    ).toBeDefined();
  }, 60_000);

  it('carries every field of AWSCURRENT into the new version (client certificates, unknown fields); only the key pair changes', async () => {
    // Prepare
    // A real client certificate and key, made for this test (none is committed).
    const dir = mkdtempSync(join(tmpdir(), 'fbb-client-cert-'));
    writeSelfSignedCertificate(join(dir, 'client.key'), join(dir, 'client.pem'));
    const fields = {
      client_cert_pem: readFileSync(join(dir, 'client.pem'), 'utf8'),
      client_key_pem: readFileSync(join(dir, 'client.key'), 'utf8'),
      operator_note: 'kept as is',
    };
    rmSync(dir, { recursive: true, force: true });
    const secret = await rotatingMinioSecret({ fields });
    const before = await keyAt(sm, secret.name, 'AWSCURRENT');

    // Act
    await driver((event) => testRotation(sm).run(event)).rotate(secret.name);
    const after = await keyAt(sm, secret.name, 'AWSCURRENT');

    // Assess
    const { access_key_id, secret_access_key, ...rest } = after;
    const { access_key_id: oldId, secret_access_key: oldSecret, ...restBefore } = before;
    expect(rest).toEqual(restBefore);
    expect(rest).toMatchObject(fields);
    expect(access_key_id).not.toBe(oldId);
    expect(secret_access_key).not.toBe(oldSecret);
  }, 60_000);

  it("limits new keys to the secret's bucket: they read and write it, and are refused on another bucket the parent may use", async () => {
    // Prepare
    const secret = await rotatingMinioSecret({ objects: { 'in.txt': 'inside' } });
    const other = uniqueName('other');
    await minioRootClient(minio).send(new CreateBucketCommand({ Bucket: other }));
    await driver((event) => testRotation(sm).run(event)).rotate(secret.name);
    const current = await keyAt(sm, secret.name, 'AWSCURRENT');
    const asKey = minioRootClient({
      endpoint: minio.endpoint,
      rootUser: current.access_key_id,
      rootPassword: current.secret_access_key,
    });
    const asParentKey = minioRootClient({
      endpoint: minio.endpoint,
      rootUser: secret.first.accessKey,
      rootPassword: secret.first.secretKey,
    });

    // Act
    const put = await asKey.send(new PutObjectCommand({ Bucket: secret.bucket, Key: 'out.txt', Body: 'x' }));
    const got = await asKey.send(new GetObjectCommand({ Bucket: secret.bucket, Key: 'in.txt' }));
    const elsewhere = asKey.send(new ListObjectsV2Command({ Bucket: other }));
    const writeElsewhere = asKey.send(new PutObjectCommand({ Bucket: other, Key: 'x', Body: 'x' }));

    // Assess
    expect(put.$metadata.httpStatusCode).toBe(200);
    expect(await got.Body?.transformToString()).toBe('inside');
    await expect(elsewhere).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(writeElsewhere).rejects.toMatchObject({ name: 'AccessDenied' });
    // The parent (through its operator-made key, which has no inline policy) may use the other bucket.
    expect(
      (await asParentKey.send(new ListObjectsV2Command({ Bucket: other }))).$metadata.httpStatusCode,
    ).toBe(200);
  }, 60_000);

  it("tells its keys by the secret's ARN: same-named secrets of other accounts on the same parent keep theirs; the operator's first key is adopted", async () => {
    // Prepare: keys another deployment with a secret of the same name made for the same parent,
    // before this change (name in the description) and after (another ARN's hash).
    const secret = await rotatingMinioSecret();
    const otherArn = secret.arn.replace(/:\d{12}:/, ':210987654321:');
    const foreign = [
      {
        accessKey: `FOREIGNOLD${Date.now() % 1e9}`,
        description: `fence-bucket-broker rotation of ${secret.name}`,
      },
      {
        accessKey: `FOREIGNNEW${Date.now() % 1e9}`,
        description: writeManagedKeyTag({ arnHash: secretArnHash(otherArn), secretName: secret.name }),
      },
    ];
    for (const key of foreign)
      await root.addServiceAccount({ targetUser: secret.parent, secretKey: 'foreign-secret-key-1', ...key });
    const rotations = driver((event) => testRotation(sm).run(event));

    // Act
    await rotations.rotate(secret.name);
    const adopted = (await root.listServiceAccounts(secret.parent)).find(
      (key) => key.accessKey === secret.first.accessKey,
    );
    for (let round = 0; round < 3; round++) await rotations.rotate(secret.name);

    // Assess
    const current = await keyAt(sm, secret.name, 'AWSCURRENT');
    const previous = await keyAt(sm, secret.name, 'AWSPREVIOUS');
    expect(await keysOf(secret.parent)).toEqual(
      new Set([current.access_key_id, previous.access_key_id, ...foreign.map((key) => key.accessKey)]),
    );
    expect(readManagedKeyTag(adopted?.description)).toMatchObject({
      arnHash: secretArnHash(secret.arn),
      secretName: secret.name,
      demotedAt: expect.any(Date),
    });
    const tags = (await root.listServiceAccounts(secret.parent)).map((key) =>
      readManagedKeyTag(key.description),
    );
    expect(tags.filter((tag) => tag?.arnHash === secretArnHash(secret.arn))).toHaveLength(2);
  }, 120_000);

  describe('retirement by the grace rule', () => {
    const listed = async (parent: string, accessKey: string): Promise<ServiceAccountInfo | undefined> =>
      (await root.listServiceAccounts(parent)).find((key) => key.accessKey === accessKey);

    it('"rotate now" back to back, after a manual PutSecretValue: no key is deleted within its grace; unlabelled ones get a MinIO expiration', async () => {
      // Prepare: the operator put a key by hand, then rotates twice at once.
      const secret = await rotatingMinioSecret();
      const manual = { accessKey: `MANUAL${Date.now() % 1e12}`, secretKey: 'manual-secret-key-123' };
      await root.addServiceAccount({ targetUser: secret.parent, ...manual });
      const first = await keyAt(sm, secret.name, 'AWSCURRENT');
      await sm.send(
        new PutSecretValueCommand({
          SecretId: secret.name,
          SecretString: JSON.stringify({
            ...first,
            access_key_id: manual.accessKey,
            secret_access_key: manual.secretKey,
          }),
        }),
      );
      const rotations = driver((event) => testRotation(sm, { grace: fixedGrace(3600) }).run(event));
      const started = Date.now();

      // Act
      await rotations.rotate(secret.name);
      await rotations.rotate(secret.name);

      // Assess
      const current = await keyAt(sm, secret.name, 'AWSCURRENT');
      const previous = await keyAt(sm, secret.name, 'AWSPREVIOUS');
      const kept = [secret.first.accessKey, manual.accessKey, previous.access_key_id, current.access_key_id];
      expect(await keysOf(secret.parent)).toEqual(new Set(kept));
      for (const key of [
        firstKey(secret),
        { access_key_id: manual.accessKey, secret_access_key: manual.secretKey },
      ])
        expect(await canList(secret.bucket, key)).toBe(true);
      for (const accessKey of [secret.first.accessKey, manual.accessKey]) {
        const info = await listed(secret.parent, accessKey);
        const tag = readManagedKeyTag(info?.description);
        // Found demoted with no stamp: stamped when seen, never earlier than the truth.
        expect(tag?.demotedAt?.getTime()).toBeGreaterThanOrEqual(started - 1000);
        expect(Date.parse(info?.expiration ?? '')).toBeGreaterThanOrEqual(
          (tag?.demotedAt?.getTime() ?? 0) + 3600_000 - 1000,
        );
      }
      const previousInfo = await listed(secret.parent, previous.access_key_id);
      expect(readManagedKeyTag(previousInfo?.description)?.demotedAt).toBeInstanceOf(Date);
      expect(hasExpiration(previousInfo as ServiceAccountInfo)).toBe(false);
      const currentInfo = await listed(secret.parent, current.access_key_id);
      expect(readManagedKeyTag(currentInfo?.description)?.demotedAt).toBeUndefined();
      expect(hasExpiration(currentInfo as ServiceAccountInfo)).toBe(false);
    }, 120_000);

    it('deletes a demoted key at the first rotation after its grace, not before', async () => {
      // Prepare: the rotation's clock is ours, so "within" and "past" the grace do not depend on
      // how fast this machine runs.
      const secret = await rotatingMinioSecret();
      const graceSeconds = 3600;
      let ahead = 0;
      const rotations = driver((event) =>
        testRotation(sm, {
          grace: fixedGrace(graceSeconds),
          clock: () => new Date(Date.now() + ahead),
        }).run(event),
      );
      await rotations.rotate(secret.name); // first key: AWSPREVIOUS, stamped
      const k1 = await keyAt(sm, secret.name, 'AWSCURRENT');
      await rotations.rotate(secret.name); // first key: no label, within its grace
      const within = await listed(secret.parent, secret.first.accessKey);

      // Act: an hour and a second later (by the rotation's clock), one more rotation.
      ahead = (graceSeconds + 1) * 1000;
      await rotations.rotate(secret.name);

      // Assess
      const demotedAt = readManagedKeyTag(within?.description)?.demotedAt?.getTime() ?? Number.NaN;
      expect(Date.parse(within?.expiration ?? '')).toBe(demotedAt + graceSeconds * 1000);
      await expectOnlyCurrentAndPrevious(secret);
      for (const gone of [firstKey(secret), k1]) expect(await canList(secret.bucket, gone)).toBe(false);
    }, 120_000);

    it('keeps the keys of versions pinned by a custom label through rotations; unpinned, their grace starts', async () => {
      // Prepare
      const secret = await rotatingMinioSecret();
      const versions = (await sm.send(new DescribeSecretCommand({ SecretId: secret.name })))
        .VersionIdsToStages;
      const pinned = Object.keys(versions ?? {})[0] ?? '';
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secret.name,
          VersionStage: 'fence-pin',
          MoveToVersionId: pinned,
        }),
      );
      const rotations = driver((event) => testRotation(sm).run(event));

      // Act
      for (let round = 0; round < 4; round++) await rotations.rotate(secret.name);
      const resolved = await new AwsSecretsManagerResolver().get(secret.name, 'fence-pin');
      const whilePinned = await listed(secret.parent, secret.first.accessKey);
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secret.name,
          VersionStage: 'fence-pin',
          RemoveFromVersionId: pinned,
        }),
      );
      await rotations.rotate(secret.name);

      // Assess: a record pinned to the label resolved the first key, which still worked.
      expect(resolved.access_key_id).toBe(secret.first.accessKey);
      expect(whilePinned).toBeDefined();
      // Adopted while pinned (tagged, no stamp): unpinned by hand, it is still known as ours.
      expect(readManagedKeyTag(whilePinned?.description)).toEqual({
        arnHash: secretArnHash(secret.arn),
        secretName: secret.name,
      });
      expect(hasExpiration(whilePinned as ServiceAccountInfo)).toBe(false);
      await expectOnlyCurrentAndPrevious(secret); // grace 0 here: unpinned, it went at once
    }, 120_000);
  });

  describe('testSecret alone (RotateSecret with RotateImmediately=false)', () => {
    /** Plays what Secrets Manager does: an AWSPENDING version under a new token, testSecret, then removes it. */
    async function testOnlyInvocation(secret: RotatingMinioSecret, pendingValue?: string): Promise<void> {
      const token = crypto.randomUUID();
      await sm.send(
        new RotateSecretCommand({
          SecretId: secret.name,
          ClientRequestToken: token,
          RotationLambdaARN: ROTATION_LAMBDA_ARN,
          RotationRules: { AutomaticallyAfterDays: 30 },
          RotateImmediately: false,
        }),
      );
      if (pendingValue !== undefined) {
        await sm.send(
          new PutSecretValueCommand({
            SecretId: secret.name,
            ClientRequestToken: token,
            SecretString: pendingValue,
            VersionStages: ['AWSPENDING'],
          }),
        );
      }
      try {
        await testRotation(sm).run({ Step: 'testSecret', SecretId: secret.name, ClientRequestToken: token });
      } finally {
        await sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secret.name,
            VersionStage: 'AWSPENDING',
            RemoveFromVersionId: token,
          }),
        );
      }
    }

    it('tests the AWSCURRENT key, whether the pending version is empty or a copy of AWSCURRENT, and creates or deletes nothing', async () => {
      // Prepare
      const secret = await rotatingMinioSecret();
      const current = JSON.stringify(await keyAt(sm, secret.name, 'AWSCURRENT'));
      const keysBefore = await keysOf(secret.parent);

      // Act
      await testOnlyInvocation(secret);
      await testOnlyInvocation(secret, current);

      // Assess
      expect(await keysOf(secret.parent)).toEqual(keysBefore);
      expect((await keyAt(sm, secret.name, 'AWSCURRENT')).access_key_id).toBe(secret.first.accessKey);
      // The schedule then rotates as usual.
      await driver((event) => testRotation(sm).run(event)).rotate(secret.name);
      expect((await keyAt(sm, secret.name, 'AWSPREVIOUS')).access_key_id).toBe(secret.first.accessKey);
    }, 60_000);

    it('fails when the AWSCURRENT key does not work (the test is real)', async () => {
      const secret = await rotatingMinioSecret();
      await root.deleteServiceAccount(secret.first.accessKey);
      await expect(testOnlyInvocation(secret)).rejects.toBeDefined();
    }, 60_000);
  });

  describe('faults at every step boundary: the keys are checked right after the faulted rotation', () => {
    /** Runs a rotation that meets faults; checks it completed, or left AWSCURRENT untouched and working. */
    async function survives(
      secret: RotatingMinioSecret,
      run: (event: unknown) => Promise<void>,
    ): Promise<'completed' | 'untouched'> {
      const before = await keyAt(sm, secret.name, 'AWSCURRENT');
      const outcome = await driver(run)
        .rotate(secret.name, { maxAttempts: 3 })
        .then(
          () => 'completed' as const,
          () => 'untouched' as const,
        );
      const after = await keyAt(sm, secret.name, 'AWSCURRENT');
      if (outcome === 'untouched') expect(after).toEqual(before);
      else expect(after.access_key_id).not.toBe(before.access_key_id);
      expect(await canList(secret.bucket, after)).toBe(true);
      return outcome;
    }

    /** A secret rotated once cleanly, so the next rotation has a key to retire (the first one). */
    async function rotatedOnce(options: Parameters<typeof createRotatingMinioSecret>[2] = {}) {
      const secret = await rotatingMinioSecret(options);
      await driver((event) => testRotation(sm).run(event)).rotate(secret.name);
      return secret;
    }

    it(
      'MinIO down: AWSCURRENT stays and works; once MinIO is back, the retried rotation completes',
      () =>
        throughProxy(async (proxy, url) => {
          const secret = await rotatedOnce({ endpoint: url });
          await proxy.close();
          expect(await survives(secret, (event) => testRotation(sm).run(event))).toBe('untouched');
          await proxy.reopen();
          // Secrets Manager retries the unfinished rotation with the same token.
          const token = await pendingToken(secret.name);
          await driver((event) => testRotation(sm).run(event)).rotate(secret.name, { token });
          await expectOnlyCurrentAndPrevious(secret);
        }),
      90_000,
    );

    it('a wrong admin credential: AWSCURRENT stays and works; fixed, the rotation completes', async () => {
      const secret = await rotatedOnce();
      const putAdmin = (password: string) =>
        sm.send(
          new PutSecretValueCommand({
            SecretId: secret.adminRef,
            SecretString: JSON.stringify({ access_key_id: minio.rootUser, secret_access_key: password }),
          }),
        );
      await putAdmin('wrong-password');
      expect(await survives(secret, (event) => testRotation(sm).run(event))).toBe('untouched');
      await putAdmin(minio.rootPassword);
      const token = await pendingToken(secret.name);
      await driver((event) => testRotation(sm).run(event)).rotate(secret.name, { token });
      await expectOnlyCurrentAndPrevious(secret);
    }, 90_000);

    it.each([
      ['MinIO down', 'minio'],
      ['a wrong admin credential', 'credential'],
    ] as const)(
      '%s right after the stage move: finishSecret fails (retirement failed) until it can retire, then the replay retires',
      (_case, fault) =>
        throughProxy(async (proxy, url) => {
          // Prepare
          const secret = await rotatedOnce({ endpoint: url });
          const setAdmin = (password: string) =>
            sm.send(
              new PutSecretValueCommand({
                SecretId: secret.adminRef,
                SecretString: JSON.stringify({ access_key_id: minio.rootUser, secret_access_key: password }),
              }),
            );
          const store = onceAfter(new RotationStore(sm), 'moveCurrent', async () => {
            if (fault === 'minio') await proxy.close();
            else await setAdmin('wrong-password');
          });
          const errors: unknown[] = [];
          const faulted = testRotation(sm, { store });

          // Act: Secrets Manager's attempts with the token all fail while the fault lasts.
          const token = crypto.randomUUID();
          const outcome = await driver((event) =>
            faulted.run(event).catch((error: unknown) => {
              errors.push(error);
              throw error;
            }),
          )
            .rotate(secret.name, { token, maxAttempts: 3 })
            .then(
              () => 'reported success',
              () => 'reported failure',
            );
          const keysWhileFaulty = await keysOf(secret.parent);
          if (fault === 'minio') await proxy.reopen();
          else await setAdmin(minio.rootPassword);
          await driver((event) => testRotation(sm).run(event)).rotate(secret.name, { token });

          // Assess
          expect(outcome).toBe('reported failure');
          expect(errors.length).toBeGreaterThanOrEqual(3);
          expect(errors.every((error) => (error as Error).name === 'RotationRetirementError')).toBe(true);
          expect(keysWhileFaulty.has(secret.first.accessKey)).toBe(true);
          expect(
            (await keyAt(sm, secret.name, { version: token, stage: 'AWSCURRENT' })).access_key_id,
          ).toBeDefined();
          await expectOnlyCurrentAndPrevious(secret);
        }),
      120_000,
    );

    it.each([
      ['a failing Secrets Manager write (createSecret)', 'putPending', false],
      ['a failing stage move (finishSecret)', 'moveCurrent', false],
      ['a crash after the stage moved, before old keys were retired', 'moveCurrent', true],
    ] as const)(
      '%s: the retried rotation completes, and no orphan key remains',
      async (_case, method, after) => {
        const secret = await rotatedOnce();
        const store = failing(new RotationStore(sm), method, 1, after);
        const single = testRotation(sm, { store });
        expect(await survives(secret, (event) => single.run(event))).toBe('completed');
        await expectOnlyCurrentAndPrevious(secret);
      },
      90_000,
    );

    it('a crash after MinIO created the key, before setSecret returned: the retry finds it and completes', async () => {
      const secret = await rotatedOnce();
      let crashes = 1;
      const run = testRotation(sm, {
        adminClient: (connection) =>
          crashes-- > 0
            ? failing(new MinioAdminClient(connection), 'addServiceAccount', 1, true)
            : new MinioAdminClient(connection),
      });
      expect(await survives(secret, (event) => run.run(event))).toBe('completed');
      await expectOnlyCurrentAndPrevious(secret);
    }, 90_000);

    it('a pending key missing from MinIO: finishSecret refuses to promote it; AWSCURRENT stays', async () => {
      // Prepare
      const secret = await rotatedOnce();
      const before = await keyAt(sm, secret.name, 'AWSCURRENT');
      const token = crypto.randomUUID();
      const run = testRotation(sm);
      await sm.send(
        new RotateSecretCommand({
          SecretId: secret.name,
          ClientRequestToken: token,
          RotationLambdaARN: ROTATION_LAMBDA_ARN,
        }),
      );
      for (const Step of ['createSecret', 'setSecret', 'testSecret'])
        await run.run({ Step, SecretId: secret.name, ClientRequestToken: token });
      await root.deleteServiceAccount(
        (await keyAt(sm, secret.name, { stage: 'AWSPENDING', version: token })).access_key_id,
      );

      // Act
      const finish = run.run({ Step: 'finishSecret', SecretId: secret.name, ClientRequestToken: token });

      // Assess
      await expect(finish).rejects.toThrow(/does not exist in MinIO/);
      expect(await keyAt(sm, secret.name, 'AWSCURRENT')).toEqual(before);
      expect(await canList(secret.bucket, before)).toBe(true);
    }, 90_000);

    it('an abandoned rotation (its key made, never finished): the next rotation retires that key', async () => {
      const secret = await rotatedOnce();
      const token = crypto.randomUUID();
      const run = testRotation(sm);
      await sm.send(
        new RotateSecretCommand({
          SecretId: secret.name,
          ClientRequestToken: token,
          RotationLambdaARN: ROTATION_LAMBDA_ARN,
        }),
      );
      await run.run({ Step: 'createSecret', SecretId: secret.name, ClientRequestToken: token });
      await run.run({ Step: 'setSecret', SecretId: secret.name, ClientRequestToken: token });
      const abandoned = await keyAt(sm, secret.name, 'AWSPENDING');
      expect(await canList(secret.bucket, abandoned)).toBe(true);
      // Secrets Manager would retry the same token; an operator may also cancel and start over.
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secret.name,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: token,
        }),
      );
      await driver((event) => run.run(event)).rotate(secret.name);
      await expectOnlyCurrentAndPrevious(secret);
      expect(await canList(secret.bucket, abandoned)).toBe(false);
    }, 90_000);

    it('replayed steps change nothing: each step run twice still rotates once', async () => {
      const secret = await rotatedOnce();
      const run = testRotation(sm);
      await driver(async (event) => {
        await run.run(event);
        await run.run(event);
      }).rotate(secret.name);
      await expectOnlyCurrentAndPrevious(secret);
    }, 90_000);
  });
});
