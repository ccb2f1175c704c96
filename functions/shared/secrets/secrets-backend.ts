import * as z from 'zod/mini';
import { commaList, positiveInteger, seconds } from '../config/environment';
import { SECRETS_BACKENDS, type SecretsBackend } from './backend-names';
import type { SecretAdministration } from './secret-administration';
import type { SecretPayload, SecretReadOptions, SecretResolver, SecretVersionId } from './secret-resolver';

/**
 * What every backend folder under `functions/shared/backends/` provides, and the settings all of
 * them share. A backend's `backend.ts` exports `environment` (its variables, a zod shape),
 * `createResolver` (the read side the cache wraps) and `createAdministration` (the admin side);
 * `backends/backend-registry.ts` lists each backend once.
 */

/** Settings every backend shares: which backends run, the name prefix, the credentials cache. */
export const COMMON_SECRETS_ENVIRONMENT = {
  FENCE_SECRETS_BACKEND: z
    ._default(commaList(z.enum(SECRETS_BACKENDS)), ['aws_sm' as const])
    .check(
      z.describe('Backends this deployment serves, comma-separated; records naming another are refused.'),
    ),
  FENCE_SECRETS_PREFIX: z
    ._default(z.string().check(z.minLength(1)), 'gen3/fence/')
    .check(z.describe('Every secret name lives under this prefix; IAM grants nothing outside it.')),
  FENCE_SECRET_CACHE_TTL_SECONDS: seconds(300).check(
    z.describe('How long a resolved secret is served from the credentials cache (each entry ±10 % jitter).'),
  ),
  FENCE_SECRET_CACHE_MAX_STALE_SECONDS: seconds(3600).check(
    z.describe(
      'On a transient backend failure (timeout, network error, 5xx, throttling), cached values up to this old are still served.',
    ),
  ),
  FENCE_SECRET_CACHE_MAX_ENTRIES: z
    ._default(positiveInteger(), 1000)
    .check(z.describe('The most secrets the credentials cache holds (least recently used leave first).')),
};
export type CommonSecretsEnvironment = z.output<z.ZodMiniObject<typeof COMMON_SECRETS_ENVIRONMENT>>;

/** What a backend may use of the others (GCP Secret Manager's development key lives in another). */
export interface BackendContext {
  /** The resolver of another configured backend, looked up when first used. */
  resolverFor(backend: SecretsBackend): SecretResolver;
}

/** One backend as the admin core (and the drift check) uses it: reads of values, and the admin operations. */
export interface AdminSecretsBackend {
  read: SecretResolver;
  admin: SecretAdministration;
}

/**
 * Builds one backend's uncached resolver from the deployment's settings (checked here, at cold
 * start); the cache is put in front of it by the registry.
 */
export type ResolverFactory<E = CommonSecretsEnvironment> = (
  environment: E,
  context: BackendContext,
) => SecretResolver;

/** Builds one backend's admin side: reads uncached (admin reads must see what was just written). */
export type AdministrationFactory<E = CommonSecretsEnvironment> = (
  environment: E,
  context: BackendContext,
) => AdminSecretsBackend;

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

/** The settings a backend's `environment` shape declares, as parsed. */
export type SecretsBackendEnvironment<Shape extends z.core.$ZodShape> = z.output<z.ZodMiniObject<Shape>>;
