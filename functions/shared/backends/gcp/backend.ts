import { type BackendContext, LazySecretResolver } from '../../secrets/secrets-backend';
import { GCP_ENVIRONMENT, type GcpEnvironment, readGcpSecretManagerSettings } from './gcp-settings';

/** GCP Secret Manager (`gcp_sm`), and the broker's Google identity for GCS workload identity. */
export const environment = GCP_ENVIRONMENT;

/**
 * Settings are checked at cold start; Google's code loads when a record first names GCP Secret
 * Manager. A development key held in another backend is read through that backend's cache.
 */
export function createResolver(settings: GcpEnvironment, context: BackendContext): LazySecretResolver {
  const gcp = readGcpSecretManagerSettings(settings);
  return new LazySecretResolver('gcp_sm', async () =>
    (await import('./gcp-secret-manager-resolver')).GcpSecretManagerResolver.fromSettings(
      gcp,
      context.resolverFor,
    ),
  );
}
