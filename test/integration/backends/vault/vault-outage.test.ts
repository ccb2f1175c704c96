import { StaticTokenVaultAuth } from '../../../../functions/shared/backends/vault/vault-auth';
import { VaultClient } from '../../../../functions/shared/backends/vault/vault-client';
import { VaultResolver } from '../../../../functions/shared/backends/vault/vault-resolver';
import { SecretBackendUnavailableError } from '../../../../functions/shared/errors';
import { CachingSecretResolver } from '../../../../functions/shared/secrets/caching-secret-resolver';
import { type OpenBaoServer, startOpenBao } from '../../services/openbao';
import { ManualClock } from '../../support/counting-resolver';
import { uniqueSecretPath, VaultRoot } from '../../support/vault';

describe('Class: CachingSecretResolver (in front of Vault, through an outage)', () => {
  let vault: OpenBaoServer;
  beforeAll(async () => {
    vault = await startOpenBao();
  }, 60_000);
  afterAll(() => vault.process.stop());

  it('serves the stale value after OpenBao stops, until max_stale, then secret_backend_unavailable', async () => {
    // Prepare: a server of this test's own, stopped after the cache is warm.
    const path = uniqueSecretPath('outage');
    await new VaultRoot(vault.address, vault.rootToken).writeSecret(path, {
      access_key_id: 'warm',
      secret_access_key: 's',
    });
    const clock = new ManualClock();
    const cached = new CachingSecretResolver(
      new VaultResolver(
        new VaultClient({
          address: vault.address,
          auth: new StaticTokenVaultAuth({ value: vault.rootToken }),
        }),
      ),
      { ttlMs: 300_000, jitter: 0, maxStaleMs: 3_600_000, failureBackoffMs: 2_000, clock: clock.read },
    );
    expect((await cached.get(`secret/${path}`)).access_key_id).toBe('warm');
    await vault.process.stop();

    // Act
    clock.advance(300_001);
    const afterTtl = await cached.get(`secret/${path}`);
    clock.advance(3_600_000 - 300_001);
    const atMaxStale = await cached.get(`secret/${path}`);
    clock.advance(1);
    const pastMaxStale = await cached.get(`secret/${path}`).then(
      () => undefined,
      (error: Error) => error,
    );

    // Assess
    expect(afterTtl.access_key_id).toBe('warm');
    expect(atMaxStale.access_key_id).toBe('warm');
    expect(pastMaxStale).toBeInstanceOf(SecretBackendUnavailableError);
    expect(pastMaxStale).toMatchObject({
      code: 'secret_backend_unavailable',
      status: 503,
      retryAfterSeconds: 5,
    });
    expect(pastMaxStale?.message).toMatch(/Vault could not be reached/);
    expect(cached.stats()).toMatchObject({ staleServes: 2, errors: 3 });
  }, 60_000);
});
