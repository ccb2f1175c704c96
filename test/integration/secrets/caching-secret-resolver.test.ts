import { CreateSecretCommand, DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import {
  BucketMisconfiguredError,
  SecretBackendUnavailableError,
  SecretNotFoundError,
} from '../../../functions/shared/errors';
import { CachingSecretResolver } from '../../../functions/shared/secrets/caching-secret-resolver';
import { secretsManager, uniqueName } from '../support/aws';
import { CountingResolver, ManualClock } from '../support/counting-resolver';
import { TcpProxy } from '../support/tcp-proxy';

describe('Class: CachingSecretResolver (on a real Secrets Manager API)', () => {
  const client = secretsManager();

  async function createSecret(accessKeyId = 'key'): Promise<string> {
    const name = `gen3/fence/${uniqueName('cache')}`;
    await client.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({ access_key_id: accessKeyId, secret_access_key: 's' }),
      }),
    );
    return name;
  }

  it('turns 1,000 concurrent misses for one key into exactly one backend call', async () => {
    // Prepare
    const name = await createSecret();
    const counting = new CountingResolver(new AwsSecretsManagerResolver());
    const cached = new CachingSecretResolver(counting);

    // Act
    const answers = await Promise.all(Array.from({ length: 1000 }, () => cached.get(name)));

    // Assess
    expect(counting.calls).toBe(1);
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]?.access_key_id).toBe('key');
    expect(cached.stats()).toMatchObject({ loads: 1, misses: 1000, hits: 0 });
  });

  it('serves the stale value while the backend is down, until max_stale, then secret_backend_unavailable', async () => {
    // Prepare: the resolver reaches the emulator only through a proxy the test can cut.
    const name = await createSecret('warm');
    const { proxy, url } = await TcpProxy.start(process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? '');

    const clock = new ManualClock();
    const cached = new CachingSecretResolver(
      new AwsSecretsManagerResolver({ endpoint: url, maxAttempts: 1 }),
      {
        ttlMs: 300_000,
        maxStaleMs: 3_600_000,
        failureBackoffMs: 2_000,
        clock: clock.read,
      },
    );
    expect((await cached.get(name)).access_key_id).toBe('warm');
    await proxy.close();

    // Act
    clock.advance(400_000);
    const afterTtl = await cached.get(name);
    clock.advance(3_000);
    const afterBackoff = await cached.get(name);
    clock.advance(3_600_000 - 403_000);
    const atMaxStale = await cached.get(name);
    clock.advance(1);
    const pastMaxStale = cached.get(name);

    // Assess
    expect(afterTtl.access_key_id).toBe('warm');
    expect(afterBackoff.access_key_id).toBe('warm');
    expect(atMaxStale.access_key_id).toBe('warm');
    await expect(pastMaxStale).rejects.toBeInstanceOf(SecretBackendUnavailableError);
    await expect(pastMaxStale).rejects.toMatchObject({ code: 'secret_backend_unavailable', status: 503 });
    expect(cached.stats().staleServes).toBe(3);
    expect(cached.stats().errors).toBe(4);
  });

  it.each([
    ['deleted with a recovery window (InvalidRequestException)', 7, BucketMisconfiguredError],
    ['deleted at once (ResourceNotFoundException)', undefined, SecretNotFoundError],
  ] as const)(
    'stops serving a secret %s once its TTL is over, never stale',
    async (_, recoveryDays, refusal) => {
      // Prepare
      const name = await createSecret('warm');
      const clock = new ManualClock();
      const cached = new CachingSecretResolver(new AwsSecretsManagerResolver(), {
        ttlMs: 300_000,
        jitter: 0,
        maxStaleMs: 3_600_000,
        clock: clock.read,
      });
      expect((await cached.get(name)).access_key_id).toBe('warm');

      // Act
      await client.send(
        new DeleteSecretCommand(
          recoveryDays === undefined
            ? { SecretId: name, ForceDeleteWithoutRecovery: true }
            : { SecretId: name, RecoveryWindowInDays: recoveryDays },
        ),
      );
      clock.advance(299_999);
      const withinTtl = await cached.get(name);
      clock.advance(2);
      const afterTtl = await cached.get(name).then(
        () => undefined,
        (error: Error) => error,
      );

      // Assess
      expect(withinTtl.access_key_id).toBe('warm');
      expect(afterTtl).toBeInstanceOf(refusal);
      expect(afterTtl).toMatchObject({ code: 'bucket_misconfigured', status: 502, transient: false });
      expect(cached.stats().staleServes).toBe(0);
    },
  );

  it('holds the LRU bound and evicts the least recently used secret', async () => {
    // Prepare
    const names = await Promise.all(Array.from({ length: 6 }, (_, index) => createSecret(`key-${index}`)));
    const counting = new CountingResolver(new AwsSecretsManagerResolver());
    const cached = new CachingSecretResolver(counting, { maxEntries: 4 });

    // Act
    for (const name of names.slice(0, 4)) await cached.get(name);
    await cached.get(names[0] ?? ''); // touch: names[1] is now the least recently used
    await cached.get(names[4] ?? '');
    await cached.get(names[5] ?? '');
    const callsBefore = counting.calls;
    await cached.get(names[0] ?? '');
    const afterKept = counting.calls;
    await cached.get(names[1] ?? '');

    // Assess
    expect(cached.stats().size).toBeLessThanOrEqual(4);
    expect(afterKept).toBe(callsBefore);
    expect(counting.calls).toBe(afterKept + 1);
  });
});
