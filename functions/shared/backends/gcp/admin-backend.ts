import type { AdminSecretsBackend, BackendContext } from '../../secrets/secrets-backend';
import { GcpSecretManagerAdministration } from './gcp-secret-manager-administration';
import { GcpSecretManagerResolver } from './gcp-secret-manager-resolver';
import { type GcpEnvironment, readGcpSecretManagerSettings } from './gcp-settings';

/** A service-account key held in another backend (development) is read from that backend, uncached too. */
export function createAdministration(settings: GcpEnvironment, context: BackendContext): AdminSecretsBackend {
  const gcp = readGcpSecretManagerSettings(settings);
  const read = GcpSecretManagerResolver.fromSettings(gcp, context.resolverFor);
  return {
    read,
    admin: new GcpSecretManagerAdministration({
      endpoint: gcp.endpoint,
      tokens: read.tokens,
      ...(settings.GCP_SECRET_MANAGER_PROJECT === undefined
        ? {}
        : { project: settings.GCP_SECRET_MANAGER_PROJECT }),
    }),
  };
}
