import { type AdminAuditLine, type AdminSecretsBackend, BucketAdmin } from '../shared/admin/bucket-admin';
import type { SecretsEnvironment } from '../shared/config/secrets-environment';
import { AssumedRoleCredentials } from '../shared/credentials/assumed-role-credentials';
import { ConfigurationError } from '../shared/errors';
import type { SecretsBackend } from '../shared/registry/bucket-record';
import type { BucketRegistry } from '../shared/registry/bucket-registry';
import { DynamoDbBucketRegistry } from '../shared/registry/dynamodb-bucket-registry';
import { AwsSecretsManagerAdministration } from '../shared/secrets/aws-secrets-manager-administration';
import { AwsSecretsManagerResolver } from '../shared/secrets/aws-secrets-manager-resolver';
import { FileSecretResolver } from '../shared/secrets/file-secret-resolver';
import type { AdminEnvironment } from './environment';

/**
 * The composition root of the admin core, shared by the admin Lambda, the CLI (in process) and
 * the local runner: the registry and the configured backends, uncached (admin reads must see
 * what was just written).
 */
export function wireBucketAdmin(
  environment: Omit<AdminEnvironment, 'ADMIN_PRINCIPAL_ARNS'>,
  options: {
    audit: (line: AdminAuditLine) => void;
    registry?: BucketRegistry;
    backends?: Partial<Record<SecretsBackend, AdminSecretsBackend>>;
  },
): BucketAdmin {
  const backends: Partial<Record<SecretsBackend, AdminSecretsBackend>> = {};
  for (const name of environment.FENCE_SECRETS_BACKEND) {
    const backend = options.backends?.[name] ?? adminSecretsBackend(name, environment);
    backends[name] = backend;
  }
  return new BucketAdmin({
    registry: options.registry ?? new DynamoDbBucketRegistry(environment.REGISTRY_TABLE_NAME),
    backends,
    roles: new AssumedRoleCredentials({ durationSeconds: environment.ASSUME_ROLE_DURATION_SECONDS }),
    secretsPrefix: environment.FENCE_SECRETS_PREFIX,
    recoveryWindowDays: environment.ADMIN_SECRET_RECOVERY_DAYS,
    audit: options.audit,
  });
}

/** One backend as the admin core (and the drift check) uses it: reads uncached. */
export function adminSecretsBackend(
  name: SecretsBackend,
  environment: Pick<SecretsEnvironment, 'FENCE_SECRETS_DIR'>,
): AdminSecretsBackend {
  switch (name) {
    case 'aws_sm':
      return { read: new AwsSecretsManagerResolver(), admin: new AwsSecretsManagerAdministration() };
    case 'k8s': {
      if (environment.FENCE_SECRETS_DIR === undefined) {
        throw new ConfigurationError('FENCE_SECRETS_BACKEND names k8s, which needs FENCE_SECRETS_DIR');
      }
      const files = new FileSecretResolver(environment.FENCE_SECRETS_DIR);
      return { read: files, admin: files };
    }
    default:
      throw new ConfigurationError(
        `FENCE_SECRETS_BACKEND names ${name}, which the admin core cannot manage yet`,
      );
  }
}
