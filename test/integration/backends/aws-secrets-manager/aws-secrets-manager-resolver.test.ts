import {
  CreateSecretCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerResolver } from '../../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { SecretNotFoundError, SecretShapeError } from '../../../../functions/shared/errors';
import { CachingSecretResolver } from '../../../../functions/shared/secrets/caching-secret-resolver';
import { staticCredentialsFrom } from '../../../../functions/shared/secrets/secret-shapes';
import { secretsManager, uniqueName } from '../../support/aws';
import { ManualClock } from '../../support/counting-resolver';

const CANARY = `canary-${crypto.randomUUID()}`;

describe('Class: AwsSecretsManagerResolver', () => {
  const client = secretsManager();
  const resolver = new AwsSecretsManagerResolver();

  async function createSecret(payload: unknown): Promise<{ name: string; versionId: string }> {
    const name = `gen3/fence/${uniqueName('resolver')}`;
    const created = await client.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: typeof payload === 'string' ? payload : JSON.stringify(payload),
      }),
    );
    return { name, versionId: created.VersionId ?? '' };
  }

  /** Makes a new version current, the way a finished rotation does. */
  async function rotate(name: string, payload: unknown, currentVersionId: string): Promise<string> {
    const put = await client.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: JSON.stringify(payload),
        VersionStages: ['AWSPENDING'],
      }),
    );
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: put.VersionId,
        RemoveFromVersionId: currentVersionId,
      }),
    );
    return put.VersionId ?? '';
  }

  it('reads AWSCURRENT and returns the static credentials shape', async () => {
    // Prepare
    const { name } = await createSecret({ access_key_id: 'AKIDEXAMPLE1', secret_access_key: CANARY });

    // Act
    const payload = await resolver.get(name);

    // Assess
    expect(staticCredentialsFrom(name, payload)).toEqual({
      access_key_id: 'AKIDEXAMPLE1',
      secret_access_key: CANARY,
    });
  });

  it('reads a pinned version by id and by staging label after a rotation', async () => {
    // Prepare
    const { name, versionId: first } = await createSecret({
      access_key_id: 'first',
      secret_access_key: CANARY,
    });
    const second = await rotate(name, { access_key_id: 'second', secret_access_key: CANARY }, first);

    // Act
    const pinnedFirst = await resolver.get(name, first);
    const pinnedSecond = await resolver.get(name, second);
    const previous = await resolver.get(name, 'AWSPREVIOUS');
    const latest = await resolver.get(name, null);

    // Assess
    expect(pinnedFirst.access_key_id).toBe('first');
    expect(pinnedSecond.access_key_id).toBe('second');
    expect(previous.access_key_id).toBe('first');
    expect(latest.access_key_id).toBe('second');
  });

  it('reads binary secrets', async () => {
    // Prepare
    const name = `gen3/fence/${uniqueName('binary')}`;
    const body = JSON.stringify({ access_key_id: 'binary-key', secret_access_key: CANARY });
    await client.send(new CreateSecretCommand({ Name: name, SecretBinary: Buffer.from(body) }));

    // Act
    const payload = await resolver.get(name);

    // Assess
    expect(payload.access_key_id).toBe('binary-key');
  });

  it('serves a new current version once the cache TTL has passed, and not before', async () => {
    // Prepare
    const clock = new ManualClock();
    const cached = new CachingSecretResolver(resolver, { ttlMs: 60_000, jitter: 0.1, clock: clock.read });
    const { name, versionId } = await createSecret({ access_key_id: 'old', secret_access_key: CANARY });
    expect((await cached.get(name)).access_key_id).toBe('old');
    await rotate(name, { access_key_id: 'new', secret_access_key: CANARY }, versionId);

    // Act
    clock.advance(60_000 * 0.9 - 1);
    const beforeTtl = await cached.get(name);
    clock.advance(60_000 * 0.2 + 2);
    const afterTtl = await cached.get(name);

    // Assess
    expect(beforeTtl.access_key_id).toBe('old');
    expect(afterTtl.access_key_id).toBe('new');
  });

  it('names the ref and the field of a payload that breaks the shape, never the value', async () => {
    // Prepare
    const { name: missingField } = await createSecret({ access_key_id: CANARY });
    const { name: notAString } = await createSecret({ access_key_id: 'id', secret_access_key: 42 });
    const { name: notJson } = await createSecret(`${CANARY} is not json`);

    // Act
    const errors = await Promise.all(
      [
        resolver.get(missingField).then((payload) => staticCredentialsFrom(missingField, payload)),
        resolver.get(notAString),
        resolver.get(notJson),
      ].map((attempt) =>
        attempt.then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    );

    // Assess
    for (const error of errors) {
      expect(error).toBeInstanceOf(SecretShapeError);
      expect(String((error as Error).message)).not.toContain(CANARY);
      expect(JSON.stringify(error)).not.toContain(CANARY);
    }
    expect((errors[0] as Error).message).toBe(
      `secret ${missingField}: field "secret_access_key" is required`,
    );
    expect((errors[1] as Error).message).toBe(
      `secret ${notAString}: field "secret_access_key" must be a string`,
    );
    expect((errors[2] as Error).message).toBe(`secret ${notJson}: is not valid JSON`);
  });

  it('reports a missing secret as SecretNotFoundError', async () => {
    await expect(resolver.get(`gen3/fence/${uniqueName('missing')}`)).rejects.toBeInstanceOf(
      SecretNotFoundError,
    );
  });

  it('writes a new secret, then a new version of it, and reads each back', async () => {
    // Prepare
    const name = `gen3/fence/${uniqueName('put')}`;

    // Act
    const firstVersion = await resolver.put(name, { access_key_id: 'one', secret_access_key: CANARY });
    const secondVersion = await resolver.put(name, { access_key_id: 'two', secret_access_key: CANARY });

    // Assess
    expect(firstVersion).not.toBe(secondVersion);
    expect((await resolver.get(name, firstVersion)).access_key_id).toBe('one');
    expect((await resolver.get(name)).access_key_id).toBe('two');
  });
});
