import type { SecretsBackend } from '../secrets/backend-names';
import type { AdministrationFactory, AdminSecretsBackend } from '../secrets/secrets-backend';
import * as awsSecretsManager from './aws-secrets-manager/admin-backend';
import * as gcp from './gcp/admin-backend';
import * as kubernetes from './kubernetes/admin-backend';
import type { SecretsEnvironment } from './secrets-environment';
import * as vault from './vault/admin-backend';

/**
 * The admin side of every backend this release ships, one line each, beside the read side's
 * list in `backend-registry.ts`. Used by the admin core, the CLI, the migration and the drift
 * check; never by the presign function.
 */
export const ADMINISTRATION_FACTORIES: Readonly<
  Record<SecretsBackend, AdministrationFactory<SecretsEnvironment>>
> = {
  aws_sm: awsSecretsManager.createAdministration,
  gcp_sm: gcp.createAdministration,
  vault: vault.createAdministration,
  k8s: kubernetes.createAdministration,
};

/** One backend as the admin core (and the drift check) uses it: reads uncached. */
export function adminSecretsBackend(
  name: SecretsBackend,
  environment: SecretsEnvironment,
): AdminSecretsBackend {
  return ADMINISTRATION_FACTORIES[name](environment, {
    resolverFor: (other) => adminSecretsBackend(other, environment).read,
  });
}
