import { BoundedLru } from '../cache/bounded-lru';
import { BrokerError, SecretBackendUnavailableError, SecretNotFoundError } from '../errors';
import type { SecretPayload, SecretReadOptions, SecretResolver, SecretVersionId } from './secret-resolver';

/** Settings of the credentials cache (DESIGN.md, "Credentials cache"). */
export interface SecretCacheOptions {
  /** How long a value is fresh. @default 300_000 (5 minutes) */
  ttlMs?: number;
  /** Each entry's TTL is spread by ± this fraction so entries do not all expire together. @default 0.1 */
  jitter?: number;
  /** LRU bound on cached entries. @default 1000 */
  maxEntries?: number;
  /**
   * On a transient backend failure (timeout, network, 5xx, throttling), a value up to this old
   * (since it was fetched) is still served. @default 3_600_000
   */
  maxStaleMs?: number;
  /** How long "not found" is remembered, so a missing secret cannot hammer the backend. @default 5000 */
  notFoundTtlMs?: number;
  /** After a failed refresh, how long to wait before asking the backend again. @default 2000 */
  failureBackoffMs?: number;
  /** Milliseconds clock; injectable for tests. @default Date.now */
  clock?: () => number;
  /** Uniform [0, 1) source for jitter; injectable for tests. @default Math.random */
  random?: () => number;
}

/** Counters for metrics. All are totals since the cache was created. */
export interface SecretCacheStats {
  /** Fresh values served from the cache. */
  hits: number;
  /** Requests that found no fresh value (coalesced requests included). */
  misses: number;
  /** Backend fetches actually made. */
  loads: number;
  /** Values served past their TTL because the backend failed. */
  staleServes: number;
  /** Backend fetches that failed. */
  errors: number;
  /** Entries currently held. */
  size: number;
}

type CacheEntry =
  | { kind: 'value'; value: SecretPayload; fetchedAt: number; freshUntil: number; retryAt: number }
  | { kind: 'failure'; error: BrokerError; until: number };

/**
 * The one cache in front of any `SecretResolver`: TTL with jitter, LRU bound, single flight for
 * concurrent misses, stale-on-error up to `maxStaleMs` for transient failures only, and short
 * negative caching. Backends stay simple fetchers; all of this behaviour lives here once.
 */
export class CachingSecretResolver implements SecretResolver {
  readonly backend: SecretResolver['backend'];
  private readonly entries: BoundedLru<string, CacheEntry>;
  private readonly inFlight = new Map<string, Promise<SecretPayload>>();
  private readonly ttlMs: number;
  private readonly jitter: number;
  private readonly maxStaleMs: number;
  private readonly notFoundTtlMs: number;
  private readonly failureBackoffMs: number;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly counters = { hits: 0, misses: 0, loads: 0, staleServes: 0, errors: 0 };

  constructor(
    private readonly inner: SecretResolver,
    options: SecretCacheOptions = {},
  ) {
    this.backend = inner.backend;
    this.ttlMs = options.ttlMs ?? 300_000;
    this.jitter = options.jitter ?? 0.1;
    this.maxStaleMs = options.maxStaleMs ?? 3_600_000;
    this.notFoundTtlMs = options.notFoundTtlMs ?? 5_000;
    this.failureBackoffMs = options.failureBackoffMs ?? 2_000;
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    if (!(this.jitter >= 0 && this.jitter < 1)) throw new RangeError('jitter must be in [0, 1)');
    this.entries = new BoundedLru(options.maxEntries ?? 1000);
  }

  /** Concurrent misses share the first caller's fetch, and so its deadline. */
  get(ref: string, version?: string | null, options?: SecretReadOptions): Promise<SecretPayload> {
    const key = cacheKey(this.backend, ref, version);
    const entry = this.entries.get(key);
    const now = this.clock();
    if (entry?.kind === 'value') {
      if (now < entry.freshUntil) {
        this.counters.hits++;
        return Promise.resolve(entry.value);
      }
      // A refresh failed moments ago: serve the stale value rather than hit a failing backend.
      if (now < entry.retryAt && now - entry.fetchedAt <= this.maxStaleMs) {
        this.counters.staleServes++;
        return Promise.resolve(entry.value);
      }
    } else if (entry?.kind === 'failure' && now < entry.until) {
      this.counters.hits++;
      return Promise.reject(entry.error);
    }
    this.counters.misses++;
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const load = this.load(key, ref, version, options).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, load);
    return load;
  }

  /** Writes through to the backend and drops the cached latest value, so readers see the write. */
  async put(ref: string, payload: SecretPayload): Promise<SecretVersionId> {
    const versionId = await this.inner.put(ref, payload);
    this.invalidate(ref);
    return versionId;
  }

  /** Forgets what is cached for `ref` (its latest value, or one `version`). */
  invalidate(ref: string, version?: string | null): void {
    this.entries.delete(cacheKey(this.backend, ref, version));
  }

  stats(): SecretCacheStats {
    return { ...this.counters, size: this.entries.size };
  }

  private async load(
    key: string,
    ref: string,
    version: string | null | undefined,
    options: SecretReadOptions | undefined,
  ): Promise<SecretPayload> {
    this.counters.loads++;
    try {
      const value = await this.inner.get(ref, version, options);
      const fetchedAt = this.clock();
      const spread = 1 + this.jitter * (2 * this.random() - 1);
      const freshUntil = fetchedAt + Math.round(this.ttlMs * spread);
      this.entries.set(key, { kind: 'value', value, fetchedAt, freshUntil, retryAt: freshUntil });
      return value;
    } catch (error) {
      this.counters.errors++;
      return this.recover(key, ref, error);
    }
  }

  /**
   * After a failed fetch: serve a young-enough stale value over a transient failure (timeout,
   * network, 5xx, throttling), or fail (briefly remembered). A definitive answer (not found,
   * access denied, a disabled key, a refused login, a bad shape) replaces the cached value, so a
   * revoked secret stops signing once its TTL is over. The backends' own error mapping decides
   * which is which (`BrokerError.transient`); an error none of them mapped counts as an outage.
   */
  private recover(key: string, ref: string, error: unknown): SecretPayload {
    const now = this.clock();
    const failure =
      error instanceof BrokerError
        ? error
        : new SecretBackendUnavailableError(`secrets backend ${this.backend} failed to return ${ref}`, {
            cause: error,
          });
    const entry = this.entries.get(key);
    if (failure.transient && entry?.kind === 'value' && now - entry.fetchedAt <= this.maxStaleMs) {
      this.counters.staleServes++;
      this.entries.set(key, { ...entry, retryAt: now + this.failureBackoffMs });
      return entry.value;
    }
    const ttl = failure instanceof SecretNotFoundError ? this.notFoundTtlMs : this.failureBackoffMs;
    this.entries.set(key, { kind: 'failure', error: failure, until: now + ttl });
    throw failure;
  }
}

function cacheKey(backend: string, ref: string, version: string | null | undefined): string {
  return `${backend}\u0000${ref}\u0000${version ?? 'latest'}`;
}
