import type { SecretsEnvironment } from './secrets-environment';
import { BucketMisconfiguredError, ConfigurationError } from '../errors';
import type { SecretsBackend } from '../registry/bucket-record';
import { AwsSecretsManagerResolver } from './aws-secrets-manager/aws-secrets-manager-resolver';
import {
  CachingSecretResolver,
  type SecretCacheOptions,
  type SecretCacheStats,
} from '../secrets/caching-secret-resolver';
import { FileSecretResolver } from './kubernetes/file-secret-resolver';
import { readGcpSecretManagerSettings } from './gcp/gcp-settings';
import type { SecretPayload, SecretReadOptions, SecretResolver, SecretVersionId } from '../secrets/secret-resolver';
import { readVaultSettings } from './vault/vault-settings';

/** The configured backends, each behind its cache. */
export class SecretResolvers {
  constructor(private readonly byBackend: ReadonlyMap<SecretsBackend, CachingSecretResolver>) {}

  /** The resolver for `backend`; a record naming a backend this deployment does not run is misconfigured. */
  for(backend: SecretsBackend): CachingSecretResolver {
    const resolver = this.byBackend.get(backend);
    if (resolver === undefined) {
      throw new BucketMisconfiguredError(`secrets backend ${backend} is not enabled in this deployment`);
    }
    return resolver;
  }

  get backends(): SecretsBackend[] {
    return [...this.byBackend.keys()];
  }

  /** Cache counters summed over all backends. */
  stats(): SecretCacheStats {
    const total: SecretCacheStats = { hits: 0, misses: 0, loads: 0, staleServes: 0, errors: 0, size: 0 };
    for (const resolver of this.byBackend.values()) {
      const stats = resolver.stats();
      for (const key of Object.keys(total) as (keyof SecretCacheStats)[]) total[key] += stats[key];
    }
    return total;
  }
}

/**
 * A backend whose code is loaded on its first read, so a deployment that never names it never
 * loads it, and one that does pays for it only when a record first uses it. Its settings are
 * checked when it is built (cold start); a failed load is tried again on the next read.
 */
export class LazySecretResolver implements SecretResolver {
  private loaded: Promise<SecretResolver> | undefined;

  constructor(
    readonly backend: SecretsBackend,
    private readonly load: () => Promise<SecretResolver>,
  ) {}

  async get(ref: string, version?: string | null, options?: SecretReadOptions): Promise<SecretPayload> {
    return (await this.resolver()).get(ref, version, options);
  }

  async put(ref: string, payload: SecretPayload): Promise<SecretVersionId> {
    return (await this.resolver()).put(ref, payload);
  }

  private resolver(): Promise<SecretResolver> {
    this.loaded ??= this.load().catch((error: unknown) => {
      this.loaded = undefined;
      throw error;
    });
    return this.loaded;
  }
}

/** What a backend may use of the others (GCP Secret Manager's development key lives in another). */
export interface BackendContext {
  /** The cached resolver of another configured backend, looked up when first used. */
  resolverFor(backend: SecretsBackend): SecretResolver;
}

/** Builds one backend's uncached resolver; overridable so tests and the local runner can add backends. */
export type BackendFactory = (environment: SecretsEnvironment, context: BackendContext) => SecretResolver;

const defaultFactories: Partial<Record<SecretsBackend, BackendFactory>> = {
  aws_sm: (environment) =>
    new AwsSecretsManagerResolver(
      environment.FENCE_SECRETS_KMS_KEY_ID === undefined
        ? {}
        : { kmsKeyId: environment.FENCE_SECRETS_KMS_KEY_ID },
    ),
  k8s: (environment) => {
    if (environment.FENCE_SECRETS_DIR === undefined) {
      throw new ConfigurationError(
        'FENCE_SECRETS_BACKEND names k8s, which needs FENCE_SECRETS_DIR (the mounted secrets)',
      );
    }
    return new FileSecretResolver(environment.FENCE_SECRETS_DIR);
  },
  gcp_sm: (environment, context) => {
    const settings = readGcpSecretManagerSettings(environment);
    return new LazySecretResolver('gcp_sm', async () =>
      (await import('./gcp/gcp-secret-manager-resolver')).GcpSecretManagerResolver.fromSettings(
        settings,
        context.resolverFor,
      ),
    );
  },
  vault: (environment) => {
    const settings = readVaultSettings(environment);
    return new LazySecretResolver('vault', async () =>
      (await import('./vault/vault-resolver')).VaultResolver.fromSettings(settings),
    );
  },
};

/** Builds the resolvers named by `FENCE_SECRETS_BACKEND`, each wrapped in the credentials cache. */
export function createSecretResolvers(
  environment: SecretsEnvironment,
  factories: Partial<Record<SecretsBackend, BackendFactory>> = defaultFactories,
  cacheOptions: SecretCacheOptions = {},
): SecretResolvers {
  const byBackend = new Map<SecretsBackend, CachingSecretResolver>();
  const resolvers = new SecretResolvers(byBackend);
  const context: BackendContext = { resolverFor: (backend) => resolvers.for(backend) };
  for (const backend of environment.FENCE_SECRETS_BACKEND) {
    const factory = factories[backend] ?? defaultFactories[backend];
    if (factory === undefined) {
      throw new ConfigurationError(
        `FENCE_SECRETS_BACKEND names ${backend}, which this release has no resolver for`,
      );
    }
    byBackend.set(
      backend,
      new CachingSecretResolver(factory(environment, context), {
        ttlMs: environment.FENCE_SECRET_CACHE_TTL_SECONDS * 1000,
        maxStaleMs: environment.FENCE_SECRET_CACHE_MAX_STALE_SECONDS * 1000,
        maxEntries: environment.FENCE_SECRET_CACHE_MAX_ENTRIES,
        ...cacheOptions,
      }),
    );
  }
  return resolvers;
}
