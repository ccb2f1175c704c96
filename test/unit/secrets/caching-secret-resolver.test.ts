import { VaultLoginError } from '../../../functions/shared/backends/vault/vault-auth';
import { VaultApiError } from '../../../functions/shared/backends/vault/vault-client';
import { translate as vaultError } from '../../../functions/shared/backends/vault/vault-resolver';
import {
  BucketMisconfiguredError,
  SecretBackendUnavailableError,
  SecretNotFoundError,
  SecretShapeError,
  ThrottledError,
} from '../../../functions/shared/errors';
import { ExchangeTimeoutError } from '../../../functions/shared/http/http-exchange';
import { CachingSecretResolver } from '../../../functions/shared/secrets/caching-secret-resolver';
import type { SecretPayload, SecretResolver } from '../../../functions/shared/secrets/secret-resolver';

/** What `read` settled with: the value, or the error (caught at once, so none goes unhandled). */
const outcome = (read: Promise<SecretPayload>): Promise<SecretPayload | Error> =>
  read.catch((error: Error) => error);

/** A backend whose answers the test scripts: values by ref, or an error to throw. */
class ScriptedBackend implements SecretResolver {
  readonly backend = 'aws_sm' as const;
  calls = 0;
  values = new Map<string, SecretPayload>();
  failure: Error | undefined;
  async get(ref: string): Promise<SecretPayload> {
    this.calls++;
    if (this.failure) throw this.failure;
    const value = this.values.get(ref);
    if (value === undefined) throw new SecretNotFoundError(ref, null);
    return value;
  }
  async put(ref: string, payload: SecretPayload): Promise<string> {
    this.values.set(ref, payload);
    return `v-${this.calls}`;
  }
}

describe('Class: CachingSecretResolver', () => {
  let now: number;
  const clock = () => now;
  let backend: ScriptedBackend;

  beforeEach(() => {
    now = 0;
    backend = new ScriptedBackend();
    backend.values.set('a', { access_key_id: 'a1' });
  });

  it('spreads expiries over ±jitter of the TTL', async () => {
    // Prepare
    const cached = new CachingSecretResolver(backend, {
      ttlMs: 100_000,
      jitter: 0.1,
      clock,
      maxEntries: 500,
    });
    const refs = Array.from({ length: 200 }, (_, index) => `ref-${index}`);
    for (const ref of refs) backend.values.set(ref, { access_key_id: ref });
    await Promise.all(refs.map((ref) => cached.get(ref)));
    const reloadsAt = async (time: number) => {
      now = time;
      const before = backend.calls;
      await Promise.all(refs.map((ref) => cached.get(ref)));
      return backend.calls - before;
    };

    // Act
    const beforeSpread = await reloadsAt(89_999);
    const atNominalTtl = await reloadsAt(100_000);
    const afterSpread = await reloadsAt(110_001);

    // Assess
    expect(beforeSpread).toBe(0);
    // About half expire by the nominal TTL; with 200 draws, under 40 or over 160 is a broken spread.
    expect(atNominalTtl).toBeGreaterThan(40);
    expect(atNominalTtl).toBeLessThan(160);
    // Everything left has expired by TTL + 10 %; those reloaded at 100 s are fresh again.
    expect(afterSpread).toBe(200 - atNominalTtl);
  });

  it('remembers "not found" briefly, then asks again', async () => {
    // Prepare
    const cached = new CachingSecretResolver(backend, { notFoundTtlMs: 5_000, clock });

    // Act
    await expect(cached.get('missing')).rejects.toBeInstanceOf(SecretNotFoundError);
    await expect(cached.get('missing')).rejects.toBeInstanceOf(SecretNotFoundError);
    const callsWithinTtl = backend.calls;
    now = 5_001;
    backend.values.set('missing', { access_key_id: 'now-here' });
    const later = await cached.get('missing');

    // Assess
    expect(callsWithinTtl).toBe(1);
    expect(later.access_key_id).toBe('now-here');
  });

  it('never serves a stale value over a definitive answer (not found, bad shape)', async () => {
    // Prepare
    const cached = new CachingSecretResolver(backend, { ttlMs: 1_000, clock });
    await cached.get('a');
    now = 2_000;

    // Act
    backend.failure = new SecretShapeError('a', 'secret_access_key', 'is required');
    const shapeBroken = cached.get('a');

    // Assess
    await expect(shapeBroken).rejects.toBeInstanceOf(SecretShapeError);
    expect(cached.stats().staleServes).toBe(0);
  });

  // What each backend's own mapping makes of a definitive answer (see the resolvers' translate).
  const definitive: [string, () => Error][] = [
    ['not found (deleted)', () => new SecretNotFoundError('a', null)],
    [
      'access denied (Secrets Manager AccessDeniedException, Google PERMISSION_DENIED)',
      () => new BucketMisconfiguredError('access to secret a was denied'),
    ],
    [
      'KMS key disabled (Secrets Manager DecryptionFailure)',
      () => new BucketMisconfiguredError('secret a could not be decrypted with its KMS key'),
    ],
    [
      'marked for deletion (Secrets Manager InvalidRequestException)',
      () => new BucketMisconfiguredError('Secrets Manager refused the request for a'),
    ],
    [
      'Vault 403 (policy narrowed)',
      () => vaultError(new VaultApiError(403, 'secret/data/a', []), 'secret/a'),
    ],
    ['Vault login refused (role removed)', () => vaultError(new VaultLoginError('approle', 400), 'secret/a')],
    ['a bad shape', () => new SecretShapeError('a', 'secret_access_key', 'is required')],
  ];

  it.each(definitive)(
    'drops the cached value after its TTL on a definitive answer: %s',
    async (_, answer) => {
      // Prepare
      const cached = new CachingSecretResolver(backend, {
        ttlMs: 1_000,
        jitter: 0,
        maxStaleMs: 3_600_000,
        failureBackoffMs: 2_000,
        notFoundTtlMs: 2_000,
        clock,
      });
      await cached.get('a');
      const failure = answer();

      // Act
      now = 500;
      backend.failure = failure;
      const withinTtl = await cached.get('a');
      now = 1_001;
      const afterTtl = await outcome(cached.get('a'));
      now = 3_002; // the answer was remembered for its backoff; then the backend is merely down
      backend.failure = new SecretBackendUnavailableError('Vault could not be reached for a');
      const thenDown = await outcome(cached.get('a'));

      // Assess
      expect(withinTtl.access_key_id).toBe('a1');
      expect(afterTtl).toBe(failure);
      expect(failure).toMatchObject({ transient: false });
      expect(thenDown).toBeInstanceOf(SecretBackendUnavailableError);
      expect(cached.stats().staleServes).toBe(0);
    },
  );

  // What each backend's own mapping makes of an outage: the stale value is served meanwhile.
  const transient: [string, () => Error][] = [
    [
      'a timeout',
      () =>
        new SecretBackendUnavailableError('did not answer in time', {
          cause: new ExchangeTimeoutError('x', 1000),
        }),
    ],
    ['a network error the backend did not map', () => new Error('connect ECONNREFUSED')],
    ['a 5xx (Vault 503)', () => vaultError(new VaultApiError(503, 'secret/data/a', []), 'secret/a')],
    ['throttling', () => new ThrottledError('slow down', { retryAfterSeconds: 1 })],
    [
      'Vault login unreachable',
      () => vaultError(new VaultLoginError('kubernetes', undefined, { file: '/var/run/token' }), 'secret/a'),
    ],
  ];

  it.each(transient)('serves the stale value after its TTL on a transient failure: %s', async (_, outage) => {
    // Prepare
    const cached = new CachingSecretResolver(backend, {
      ttlMs: 1_000,
      jitter: 0,
      maxStaleMs: 3_600_000,
      clock,
    });
    await cached.get('a');

    // Act
    now = 1_001;
    backend.failure = outage();
    const stale = await cached.get('a');

    // Assess
    expect(stale.access_key_id).toBe('a1');
    expect(cached.stats().staleServes).toBe(1);
  });

  it('fails with secret_backend_unavailable when the backend is down and nothing is cached, and retries after a short backoff', async () => {
    // Prepare
    const cached = new CachingSecretResolver(backend, { failureBackoffMs: 2_000, clock });
    backend.failure = new Error('connect ECONNREFUSED');

    // Act
    const first = cached.get('a');
    await expect(first).rejects.toBeInstanceOf(SecretBackendUnavailableError);
    await expect(cached.get('a')).rejects.toBeInstanceOf(SecretBackendUnavailableError);
    const callsDuringBackoff = backend.calls;
    backend.failure = undefined;
    now = 2_001;
    const recovered = await cached.get('a');

    // Assess
    expect(callsDuringBackoff).toBe(1);
    expect(recovered.access_key_id).toBe('a1');
    await first.catch((error: SecretBackendUnavailableError) => {
      expect(error.retryAfterSeconds).toBeGreaterThan(0);
      expect(error.cause).toBeInstanceOf(Error);
    });
  });

  it('keeps our own errors (throttled) as they are when there is nothing stale to serve', async () => {
    const cached = new CachingSecretResolver(backend, { clock });
    backend.failure = new ThrottledError('slow down', { retryAfterSeconds: 1 });
    await expect(cached.get('a')).rejects.toBeInstanceOf(ThrottledError);
  });

  it('drops the cached latest value when a new one is written through it', async () => {
    // Prepare
    const cached = new CachingSecretResolver(backend, { clock });
    await cached.get('a');

    // Act
    await cached.put('a', { access_key_id: 'a2' });
    const reread = await cached.get('a');

    // Assess
    expect(reread.access_key_id).toBe('a2');
  });

  it('keys pinned versions apart from the latest', async () => {
    // Prepare
    const seen: (string | null | undefined)[] = [];
    const versioned: SecretResolver = {
      backend: 'aws_sm',
      get: async (_ref, version) => {
        seen.push(version);
        return { v: version ?? 'latest' };
      },
      put: async () => 'x',
    };
    const cached = new CachingSecretResolver(versioned, { clock });

    // Act
    const [latest, pinned, again] = await Promise.all([
      cached.get('a'),
      cached.get('a', 'AWSPREVIOUS'),
      cached.get('a', null),
    ]);

    // Assess
    expect([latest.v, pinned.v, again.v]).toEqual(['latest', 'AWSPREVIOUS', 'latest']);
    expect(seen).toEqual([undefined, 'AWSPREVIOUS']);
  });

  it('refuses a jitter outside [0, 1)', () => {
    expect(() => new CachingSecretResolver(backend, { jitter: 1 })).toThrow(RangeError);
  });
});
