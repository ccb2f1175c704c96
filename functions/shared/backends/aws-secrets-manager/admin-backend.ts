import type { AdminSecretsBackend } from '../../secrets/secrets-backend';
import { AwsSecretsManagerAdministration } from './aws-secrets-manager-administration';
import { AwsSecretsManagerResolver } from './aws-secrets-manager-resolver';

/** Reads uncached, and the admin operations (create, describe, rotate, remove with a recovery window). */
export function createAdministration(): AdminSecretsBackend {
  return { read: new AwsSecretsManagerResolver(), admin: new AwsSecretsManagerAdministration() };
}
