import { StaticTokenVaultAuth } from '../../../../functions/shared/backends/vault/vault-auth';
import { VaultClient } from '../../../../functions/shared/backends/vault/vault-client';
import { VaultResolver } from '../../../../functions/shared/backends/vault/vault-resolver';
import {
  BucketMisconfiguredError,
  RevisionConflictError,
  SecretBackendUnavailableError,
  SecretNotFoundError,
  SecretShapeError,
} from '../../../../functions/shared/errors';
import { CachingSecretResolver } from '../../../../functions/shared/secrets/caching-secret-resolver';
import { type OpenBaoServer, startOpenBao } from '../../services/openbao';
import { uniqueName } from '../../support/aws';
import { ManualClock } from '../../support/counting-resolver';
import { uniqueSecretPath, VaultRoot } from '../../support/vault';

const CANARY = `canary-${crypto.randomUUID()}`;

/** The error `call` fails with (undefined if it succeeds), caught at once so no rejection goes unhandled. */
const failure = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (error: Error) => error,
  );

describe('Class: VaultResolver (on a real OpenBao, KV v2)', () => {
  const root = VaultRoot.ofRun();
  const resolverWith = (token: string, address = root.address, caBundlePem?: string) =>
    new VaultResolver(
      new VaultClient({
        address,
        auth: new StaticTokenVaultAuth({ value: token }),
        ...(caBundlePem === undefined ? {} : { caBundlePem }),
      }),
    );
  const resolver = resolverWith(root.rootToken);

  it('reads the latest version, and a pinned version by its number', async () => {
    // Prepare
    const path = uniqueSecretPath('read');
    await root.writeSecret(path, { access_key_id: 'first', secret_access_key: CANARY });
    await root.writeSecret(path, { access_key_id: 'second', secret_access_key: CANARY });

    // Act
    const latest = await resolver.get(`secret/${path}`);
    const pinned = await resolver.get(`secret/${path}`, '1');

    // Assess
    expect(latest).toEqual({ access_key_id: 'second', secret_access_key: CANARY });
    expect(pinned.access_key_id).toBe('first');
    expect(Object.isFrozen(latest)).toBe(true);
  });

  it('serves an updated secret once the cache TTL has passed, and the old value until then', async () => {
    // Prepare
    const path = uniqueSecretPath('ttl');
    await root.writeSecret(path, { access_key_id: 'before', secret_access_key: 's' });
    const clock = new ManualClock();
    const cached = new CachingSecretResolver(resolver, { ttlMs: 300_000, jitter: 0, clock: clock.read });
    expect((await cached.get(`secret/${path}`)).access_key_id).toBe('before');
    await root.writeSecret(path, { access_key_id: 'after', secret_access_key: 's' });

    // Act
    clock.advance(299_999);
    const withinTtl = await cached.get(`secret/${path}`);
    clock.advance(2);
    const pastTtl = await cached.get(`secret/${path}`);

    // Assess
    expect(withinTtl.access_key_id).toBe('before');
    expect(pastTtl.access_key_id).toBe('after');
  });

  it('answers a soft-deleted or destroyed version with a clear not-found, never an older value', async () => {
    // Prepare
    const path = uniqueSecretPath('deleted');
    await root.writeSecret(path, { access_key_id: 'v1', secret_access_key: 's' });
    await root.writeSecret(path, { access_key_id: 'v2', secret_access_key: 's' });
    await root.writeSecret(path, { access_key_id: 'v3', secret_access_key: 's' });
    await root.call('POST', `secret/delete/${path}`, { versions: [1, 3] });
    await root.call('PUT', `secret/destroy/${path}`, { versions: [2] });

    // Act
    const [latest, deleted, destroyed, missing, beyond] = await Promise.all(
      [
        resolver.get(`secret/${path}`),
        resolver.get(`secret/${path}`, '1'),
        resolver.get(`secret/${path}`, '2'),
        resolver.get(`secret/${uniqueSecretPath('missing')}`),
        resolver.get(`secret/${path}`, '9'),
      ].map(failure),
    );

    // Assess
    expect(latest?.message).toMatch(/its latest version is deleted/);
    expect(deleted?.message).toMatch(/version 1 is deleted/);
    expect(destroyed?.message).toMatch(/version 2 is destroyed/);
    for (const error of [latest, deleted, destroyed, missing, beyond]) {
      expect(error).toBeInstanceOf(SecretNotFoundError);
      expect(error).toMatchObject({ code: 'bucket_misconfigured', status: 502 });
    }
  });

  it('refuses refs that are not <mount>/<path> and pins that are not version numbers', async () => {
    // Act
    const errors = await Promise.all(
      [
        resolver.get('secret'),
        resolver.get('secret/../sys/mounts'),
        resolver.get('/secret/a'),
        resolver.get(`secret/${uniqueSecretPath('pin')}`, 'AWSCURRENT'),
        resolver.get(`secret/${uniqueSecretPath('pin')}`, '0'),
      ].map(failure),
    );

    // Assess
    for (const error of errors) expect(error).toBeInstanceOf(BucketMisconfiguredError);
    expect(errors[3]?.message).toMatch(/version pin is a number/);
  });

  it('refuses a payload that is not a flat object of strings, naming the field and never the value', async () => {
    // Prepare
    const path = uniqueSecretPath('shape');
    await root.call('POST', `secret/data/${path}`, {
      data: { access_key_id: 'k', secret_access_key: { nested: CANARY } },
    });

    // Act
    const outcome = resolver.get(`secret/${path}`);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(SecretShapeError);
    const error = await outcome.catch((caught: Error) => caught);
    expect(error.message).toMatch(/secret_access_key/);
    expect(JSON.stringify({ message: error.message, stack: error.stack })).not.toContain(CANARY);
  });

  it('writes with check-and-set: a new version on top of the current one, a conflict when it moved', async () => {
    // Prepare
    const path = uniqueSecretPath('put');
    const ref = `secret/${path}`;

    // Act
    const first = await resolver.put(ref, { access_key_id: 'one', secret_access_key: CANARY });
    const second = await resolver.put(ref, { access_key_id: 'two', secret_access_key: CANARY });
    const stale = await failure(
      resolver.put(ref, { access_key_id: 'late', secret_access_key: CANARY }, { expectedVersion: 1 }),
    );
    const taken = await failure(
      resolver.put(ref, { access_key_id: 'new', secret_access_key: CANARY }, { expectedVersion: 0 }),
    );

    // Assess
    expect([first, second]).toEqual(['1', '2']);
    expect(stale).toBeInstanceOf(RevisionConflictError);
    expect(taken).toBeInstanceOf(RevisionConflictError);
    expect((await resolver.get(ref)).access_key_id).toBe('two');
    expect(stale?.message).not.toContain(CANARY);
  });

  it('answers a path its policy does not grant with bucket_misconfigured', async () => {
    // Prepare
    const path = uniqueSecretPath('denied');
    await root.writeSecret(path, { access_key_id: 'k', secret_access_key: CANARY });
    const policy = await root.readPolicy(`${uniqueSecretPath('elsewhere')}/`);
    const limited = resolverWith(await root.token([policy]));

    // Act
    const outcome = limited.get(`secret/${path}`);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(BucketMisconfiguredError);
    await expect(outcome).rejects.toThrow(/denied by Vault's policy/);
  });

  it('stops serving a cached secret once its TTL is over when the policy is narrowed meanwhile', async () => {
    // Prepare: the broker's token reads the path, and the cache holds its value.
    const path = uniqueSecretPath('narrowed');
    await root.writeSecret(path, { access_key_id: 'cached', secret_access_key: CANARY });
    const policy = await root.readPolicy(path);
    const clock = new ManualClock();
    const cached = new CachingSecretResolver(resolverWith(await root.token([policy])), {
      ttlMs: 300_000,
      jitter: 0,
      maxStaleMs: 3_600_000,
      clock: clock.read,
    });
    expect((await cached.get(`secret/${path}`)).access_key_id).toBe('cached');

    // Act: an operator narrows the policy to another prefix while the value is cached.
    await root.call('PUT', `sys/policies/acl/${policy}`, {
      policy: `path "secret/data/${uniqueSecretPath('elsewhere')}/*" { capabilities = ["read"] }`,
    });
    clock.advance(299_999);
    const withinTtl = await cached.get(`secret/${path}`);
    clock.advance(2);
    const afterTtl = await failure(cached.get(`secret/${path}`));

    // Assess
    expect(withinTtl.access_key_id).toBe('cached');
    expect(afterTtl).toBeInstanceOf(BucketMisconfiguredError);
    expect(afterTtl).toMatchObject({ code: 'bucket_misconfigured', transient: false });
    expect(afterTtl?.message).toMatch(/denied by Vault's policy/);
    expect(cached.stats().staleServes).toBe(0);
  });

  it('reads inside a namespace when VAULT_NAMESPACE names it, and not outside', async () => {
    // Prepare: a namespace with its own KV v2 mount, and a secret only there.
    const namespace = uniqueName('team');
    await root.call('POST', `sys/namespaces/${namespace}`);
    const inNamespace = async (method: string, path: string, body?: unknown) => {
      const answer = await fetch(`${root.address}/v1/${path}`, {
        method,
        headers: { 'x-vault-token': root.rootToken, 'x-vault-namespace': namespace },
        body: JSON.stringify(body),
      });
      expect(answer.status).toBeLessThan(300);
    };
    await inNamespace('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
    const path = uniqueSecretPath('namespaced');
    await inNamespace('POST', `secret/data/${path}`, {
      data: { access_key_id: 'in-namespace', secret_access_key: 's' },
    });
    const namespaced = new VaultResolver(
      new VaultClient({
        address: root.address,
        namespace,
        auth: new StaticTokenVaultAuth({ value: root.rootToken }),
      }),
    );

    // Act
    const read = await namespaced.get(`secret/${path}`);
    const outside = await failure(resolver.get(`secret/${path}`));

    // Assess
    expect(read.access_key_id).toBe('in-namespace');
    expect(outside).toBeInstanceOf(SecretNotFoundError);
  });

  describe('over TLS', () => {
    let tls: OpenBaoServer;
    beforeAll(async () => {
      tls = await startOpenBao({ tls: true });
    }, 60_000);
    afterAll(() => tls.process.stop());

    it('verifies the server against the CA bundle, and refuses it without', async () => {
      // Prepare
      const path = uniqueSecretPath('tls');
      const trusted = resolverWith(tls.rootToken, tls.address, tls.caPem);
      await trusted.put(`secret/${path}`, { access_key_id: 'over-tls', secret_access_key: 's' });
      const untrusted = resolverWith(tls.rootToken, tls.address);

      // Act
      const read = await trusted.get(`secret/${path}`);
      const refused = untrusted.get(`secret/${path}`);

      // Assess
      expect(tls.address.startsWith('https://')).toBe(true);
      expect(read.access_key_id).toBe('over-tls');
      await expect(refused).rejects.toBeInstanceOf(SecretBackendUnavailableError);
      const error = await refused.catch((caught: Error) => caught);
      expect(String((error.cause as Error).message)).toMatch(/certificate/i);
    });
  });
});
