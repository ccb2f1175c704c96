import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { probeMinioBucket } from '../../../functions/shared/rotation/minio-bucket-probe';
import {
  MinioKeyRotation,
  type MinioKeyRotationDependencies,
} from '../../../functions/shared/rotation/minio-key-rotation';
import { RotationStore } from '../../../functions/shared/rotation/rotation-store';
import { AwsSecretsManagerResolver } from '../../../functions/shared/secrets/aws-secrets-manager-resolver';
import { readEndpoints } from '../services/endpoints';
import { minioRootClient, secretsManager, uniqueName } from '../support/aws';
import { createRotatingMinioSecret } from '../support/rotating-minio-secret';
import { ROTATION_LAMBDA_ARN, RotationDriver } from '../support/rotation-driver';
import { TcpProxy } from '../support/tcp-proxy';

const { minio } = readEndpoints();
const sm = secretsManager();
const root = new MinioAdminClient({
  endpoint: minio.endpoint,
  accessKey: minio.rootUser,
  secretKey: minio.rootPassword,
});

const rotatingMinioSecret = (endpoint?: string) =>
  createRotatingMinioSecret(minio, sm, endpoint === undefined ? {} : { endpoint });

function rotation(
  log: Record<string, unknown>[] = [],
  overrides: Partial<MinioKeyRotationDependencies> = {},
) {
  return new MinioKeyRotation({
    store: new RotationStore(sm),
    adminSecrets: new AwsSecretsManagerResolver(),
    adminClient: (connection) => new MinioAdminClient(connection),
    probe: probeMinioBucket,
    log: (entry) => log.push(entry),
    ...overrides,
  });
}

/** Throws `error` the first `times` calls of `method` on `target`, after or instead of the real call. */
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

/** After the faults: the next clean rotation leaves exactly current + previous keys. */
async function expectNoOrphans(secret: { name: string; bucket: string; parent: string }): Promise<void> {
  await new RotationDriver(sm, (event) => rotation().run(event)).rotate(secret.name);
  const current = await keyAt(secret.name, 'AWSCURRENT');
  const previous = await keyAt(secret.name, 'AWSPREVIOUS');
  const keys = await root.listServiceAccounts(secret.parent);
  expect(new Set(keys.map((key) => key.accessKey))).toEqual(
    new Set([current.access_key_id, previous.access_key_id]),
  );
  expect(await works(secret.bucket, current)).toBe(true);
}

async function keyAt(
  name: string,
  stage: string,
): Promise<{ access_key_id: string; secret_access_key: string }> {
  const answer = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: stage }));
  return JSON.parse(answer.SecretString ?? '{}');
}

async function works(
  bucket: string,
  key: { access_key_id: string; secret_access_key: string },
): Promise<boolean> {
  const client = minioRootClient({
    endpoint: minio.endpoint,
    rootUser: key.access_key_id,
    rootPassword: key.secret_access_key,
  });
  return client.send(new ListObjectsV2Command({ Bucket: bucket })).then(
    () => true,
    () => false,
  );
}

describe('Class: MinioKeyRotation (real MinIO, Secrets Manager with AWS rotation semantics)', () => {
  it('rotates one secret ten times: current and previous work, older keys are gone, at most three keys exist', async () => {
    // Prepare
    const secret = await rotatingMinioSecret();
    const log: Record<string, unknown>[] = [];
    const driver = new RotationDriver(sm, (event) => rotation(log).run(event));
    const seen: { access_key_id: string; secret_access_key: string }[] = [
      { access_key_id: secret.first.accessKey, secret_access_key: secret.first.secretKey },
    ];

    for (let round = 1; round <= 10; round++) {
      // Act
      await driver.rotate(secret.name);
      const current = await keyAt(secret.name, 'AWSCURRENT');
      const previous = await keyAt(secret.name, 'AWSPREVIOUS');
      seen.push(current);

      // Assess
      expect(previous.access_key_id).toBe(seen[seen.length - 2]?.access_key_id);
      expect(await works(secret.bucket, current)).toBe(true);
      expect(await works(secret.bucket, previous)).toBe(true);
      for (const old of seen.slice(0, -2)) expect(await works(secret.bucket, old)).toBe(false);
      const keys = await root.listServiceAccounts(secret.parent);
      expect(keys.length).toBeLessThanOrEqual(3);
      expect(new Set(keys.map((key) => key.accessKey))).toEqual(
        new Set([current.access_key_id, previous.access_key_id]),
      );
    }
    expect(driver.attempts).toBe(10);
    expect(log.filter((entry) => entry.outcome === 'done')).toHaveLength(40);
    expect(JSON.stringify(log)).not.toContain(seen.at(-1)?.secret_access_key);
  }, 240_000);

  it('refuses malformed events and unknown secrets or tokens, and changes nothing', async () => {
    // Prepare
    const secret = await rotatingMinioSecret();
    const before = await sm.send(new DescribeSecretCommand({ SecretId: secret.name }));
    const run = rotation();

    // Act + Assess
    await expect(
      run.run({ SecretId: secret.name, ClientRequestToken: crypto.randomUUID() }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'Step',
    });
    await expect(
      run.run({ Step: 'dropSecret', SecretId: secret.name, ClientRequestToken: crypto.randomUUID() }),
    ).rejects.toMatchObject({
      field: 'Step',
    });
    await expect(
      run.run({ Step: 'createSecret', SecretId: secret.name, ClientRequestToken: 'short' }),
    ).rejects.toMatchObject({
      field: 'ClientRequestToken',
    });
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
    await new RotationDriver(sm, (event) => run.run(event)).rotate(secret.name);
    const rotated = await sm.send(new DescribeSecretCommand({ SecretId: secret.name }));
    await expect(
      run.run({ Step: 'setSecret', SecretId: secret.name, ClientRequestToken: crypto.randomUUID() }),
    ).rejects.toThrow(/has no version for rotation token/);
    expect((await sm.send(new DescribeSecretCommand({ SecretId: secret.name }))).VersionIdsToStages).toEqual(
      rotated.VersionIdsToStages,
    );
    expect(
      await works(secret.bucket, {
        access_key_id: secret.first.accessKey,
        secret_access_key: secret.first.secretKey,
      }),
    ).toBe(true);
  }, 60_000);

  describe('faults at every step boundary', () => {
    /** Runs a rotation that meets faults; checks it completed, or left AWSCURRENT untouched and working. */
    async function survives(
      secret: { name: string; bucket: string; parent: string },
      run: (event: unknown) => Promise<void>,
    ): Promise<'completed' | 'untouched'> {
      const before = await keyAt(secret.name, 'AWSCURRENT');
      const outcome = await new RotationDriver(sm, run).rotate(secret.name, { maxAttempts: 3 }).then(
        () => 'completed' as const,
        () => 'untouched' as const,
      );
      const after = await keyAt(secret.name, 'AWSCURRENT');
      if (outcome === 'untouched') expect(after).toEqual(before);
      else expect(after.access_key_id).not.toBe(before.access_key_id);
      expect(await works(secret.bucket, after)).toBe(true);
      return outcome;
    }

    it('MinIO down: AWSCURRENT stays and works; once MinIO is back, the retried rotation completes', async () => {
      const { proxy, url } = await TcpProxy.start(minio.endpoint);
      const secret = await rotatingMinioSecret(url);
      await proxy.close();
      expect(await survives(secret, (event) => rotation().run(event))).toBe('untouched');
      await proxy.reopen();
      // Secrets Manager retries the unfinished rotation with the same token.
      const pending = Object.entries(
        (await sm.send(new DescribeSecretCommand({ SecretId: secret.name }))).VersionIdsToStages ?? {},
      ).find(([, stages]) => stages.includes('AWSPENDING'))?.[0];
      await new RotationDriver(sm, (event) => rotation().run(event)).rotate(secret.name, { token: pending });
      await expectNoOrphans(secret);
      await proxy.close();
    }, 60_000);

    it('a wrong admin credential: AWSCURRENT stays and works; fixed, the rotation completes', async () => {
      const secret = await rotatingMinioSecret();
      const adminRef = JSON.parse(
        (await sm.send(new GetSecretValueCommand({ SecretId: secret.name, VersionStage: 'AWSCURRENT' })))
          .SecretString ?? '{}',
      ).minio_admin_secret_ref;
      await sm.send(
        new PutSecretValueCommand({
          SecretId: adminRef,
          SecretString: JSON.stringify({
            access_key_id: minio.rootUser,
            secret_access_key: 'wrong-password',
          }),
        }),
      );
      expect(await survives(secret, (event) => rotation().run(event))).toBe('untouched');
      await sm.send(
        new PutSecretValueCommand({
          SecretId: adminRef,
          SecretString: JSON.stringify({
            access_key_id: minio.rootUser,
            secret_access_key: minio.rootPassword,
          }),
        }),
      );
      const pending = Object.entries(
        (await sm.send(new DescribeSecretCommand({ SecretId: secret.name }))).VersionIdsToStages ?? {},
      ).find(([, stages]) => stages.includes('AWSPENDING'))?.[0];
      await new RotationDriver(sm, (event) => rotation().run(event)).rotate(secret.name, { token: pending });
      await expectNoOrphans(secret);
    }, 60_000);

    it.each([
      ['a failing Secrets Manager write (createSecret)', 'putPending', false],
      ['a failing stage move (finishSecret)', 'moveCurrent', false],
      ['a crash after the stage moved, before old keys were retired', 'moveCurrent', true],
    ] as const)(
      '%s: the retried rotation completes, and no orphan key remains',
      async (_case, method, after) => {
        const secret = await rotatingMinioSecret();
        const store = failing(new RotationStore(sm), method, 1, after);
        const single = rotation([], { store });
        expect(await survives(secret, (event) => single.run(event))).toBe('completed');
        await expectNoOrphans(secret);
      },
      60_000,
    );

    it('a crash after MinIO created the key, before setSecret returned: the retry finds it and completes', async () => {
      const secret = await rotatingMinioSecret();
      let crashes = 1;
      const run = rotation([], {
        adminClient: (connection) =>
          crashes-- > 0
            ? failing(new MinioAdminClient(connection), 'addServiceAccount', 1, true)
            : new MinioAdminClient(connection),
      });
      expect(await survives(secret, (event) => run.run(event))).toBe('completed');
      await expectNoOrphans(secret);
    }, 60_000);

    it('an abandoned rotation (its key made, never finished): the next rotation retires that key', async () => {
      const secret = await rotatingMinioSecret();
      const token = crypto.randomUUID();
      const run = rotation();
      await sm.send(
        new RotateSecretCommand({
          SecretId: secret.name,
          ClientRequestToken: token,
          RotationLambdaARN: ROTATION_LAMBDA_ARN,
        }),
      );
      await run.run({ Step: 'createSecret', SecretId: secret.name, ClientRequestToken: token });
      await run.run({ Step: 'setSecret', SecretId: secret.name, ClientRequestToken: token });
      const abandoned = await keyAt(secret.name, 'AWSPENDING');
      expect(await works(secret.bucket, abandoned)).toBe(true);
      // Secrets Manager would retry the same token; an operator may also cancel and start over.
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secret.name,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: token,
        }),
      );
      await expectNoOrphans(secret);
      expect(await works(secret.bucket, abandoned)).toBe(false);
    }, 60_000);

    it('replayed steps change nothing: each step run twice still rotates once', async () => {
      const secret = await rotatingMinioSecret();
      const run = rotation();
      await new RotationDriver(sm, async (event) => {
        await run.run(event);
        await run.run(event);
      }).rotate(secret.name);
      await expectNoOrphans(secret);
    }, 60_000);
  });
});
