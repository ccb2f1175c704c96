import type { AdminSecretsBackend } from '../../secrets/secrets-backend';
import { VaultAdministration } from './vault-administration';
import { VaultClient } from './vault-client';
import { VaultResolver } from './vault-resolver';
import { readVaultSettings, type VaultEnvironment } from './vault-settings';

/** One client (one login) for reads and the admin operations, uncached. */
export function createAdministration(settings: VaultEnvironment): AdminSecretsBackend {
  const vault = readVaultSettings(settings);
  const client = VaultClient.fromSettings(vault);
  return { read: new VaultResolver(client), admin: new VaultAdministration(client, vault.kvMount) };
}
