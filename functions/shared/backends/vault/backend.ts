import { LazySecretResolver } from '../../secrets/secrets-backend';
import { readVaultSettings, VAULT_ENVIRONMENT, type VaultEnvironment } from './vault-settings';

/** HashiCorp Vault or OpenBao (`vault`), KV v2. */
export const environment = VAULT_ENVIRONMENT;

/**
 * Settings are checked at cold start; the client's code loads when a record first names Vault,
 * so deployments without Vault records never run it.
 */
export function createResolver(settings: VaultEnvironment): LazySecretResolver {
  const vault = readVaultSettings(settings);
  return new LazySecretResolver('vault', async () =>
    (await import('./vault-resolver')).VaultResolver.fromSettings(vault),
  );
}
