import type { AdminSecretsBackend } from '../../secrets/secrets-backend';
import { createResolver, type KubernetesEnvironment } from './backend';

/** The mounted files are read and written by one class (the admin side writes files, for development). */
export function createAdministration(settings: KubernetesEnvironment): AdminSecretsBackend {
  const files = createResolver(settings);
  return { read: files, admin: files };
}
