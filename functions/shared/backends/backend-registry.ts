import { BucketMisconfiguredError } from '../errors';
import type { SecretsBackend } from '../secrets/backend-names';
import {
  CachingSecretResolver,
  type SecretCacheOptions,
  type SecretCacheStats,
} from '../secrets/caching-secret-resolver';
import type { BackendContext, ResolverFactory } from '../secrets/secrets-backend';
import * as awsSecretsManager from './aws-secrets-manager/backend';
import * as gcp from './gcp/backend';
import * as kubernetes from './kubernetes/backend';
import type { SecretsEnvironment } from './secrets-environment';
import * as vault from './vault/backend';

/**
 * The read side of every backend this release ships, one line each (the admin side is listed in
 * `admin-backend-registry.ts`, which the presign bundle never loads). A backend is a folder
 * beside this file; `test/unit/backends/backend-folders.test.ts` holds the folders and both
 * lists equal.
 */
export const RESOLVER_FACTORIES: Readonly<Record<SecretsBackend, ResolverFactory<SecretsEnvironment>>> = {
  aws_sm: awsSecretsManager.createResolver,
  gcp_sm: gcp.createResolver,
  vault: vault.createResolver,
  k8s: kubernetes.createResolver,
};

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

/** Builds the resolvers named by `FENCE_SECRETS_BACKEND`, each wrapped in the credentials cache. */
export function createSecretResolvers(
  environment: SecretsEnvironment,
  /** Replacements for some backends' factories (tests, the local runner). */
  factories: Partial<Record<SecretsBackend, ResolverFactory<SecretsEnvironment>>> = {},
  cacheOptions: SecretCacheOptions = {},
): SecretResolvers {
  const byBackend = new Map<SecretsBackend, CachingSecretResolver>();
  const resolvers = new SecretResolvers(byBackend);
  const context: BackendContext = { resolverFor: (backend) => resolvers.for(backend) };
  for (const backend of environment.FENCE_SECRETS_BACKEND) {
    const factory = factories[backend] ?? RESOLVER_FACTORIES[backend];
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
