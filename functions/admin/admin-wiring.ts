import type { PoolConfig } from 'pg';
import { type AdminAuditLine, type AdminSecretsBackend, BucketAdmin } from '../shared/admin/bucket-admin';
import { adminSecretsBackend } from '../shared/backends/admin-backend-registry';
import { workloadIdentitySigners } from '../shared/backends/gcp/workload-identity-signers';
import { AssumedRoleCredentials } from '../shared/credentials/assumed-role-credentials';
import type { WorkloadIdentitySigners } from '../shared/credentials/bucket-credentials';
import { ConfigurationError } from '../shared/errors';
import { StoreEndpointPolicy } from '../shared/network/store-endpoint-policy';
import type { SecretsBackend } from '../shared/registry/bucket-record';
import type { BucketRegistry } from '../shared/registry/bucket-registry';
import { DynamoDbBucketRegistry } from '../shared/registry/dynamodb-bucket-registry';
import { DynamoDbRegistryMirror } from '../shared/registry/dynamodb-registry-mirror';
import { fenceDbConnectionFromUrl } from '../shared/registry/fence-db-connection';
import { PostgresBucketRegistry } from '../shared/registry/postgres-bucket-registry';
import { WriteThroughBucketRegistry } from '../shared/registry/write-through-bucket-registry';
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
    /** Told of a write-through to the DynamoDB mirror that failed (the sync heals it). */
    warn?: (message: string, details: Record<string, unknown>) => void;
    registry?: BucketRegistry;
    /** Fence DB's connection, when it comes from a secret (the admin Lambda). */
    fenceDb?: PoolConfig;
    backends?: Partial<Record<SecretsBackend, AdminSecretsBackend>>;
  },
): BucketAdmin {
  const backends: Partial<Record<SecretsBackend, AdminSecretsBackend>> = {};
  for (const name of environment.FENCE_SECRETS_BACKEND) {
    const backend = options.backends?.[name] ?? adminSecretsBackend(name, environment);
    backends[name] = backend;
  }
  return new BucketAdmin({
    registry: options.registry ?? wireRegistry(environment, options.warn, options.fenceDb),
    backends,
    roles: new AssumedRoleCredentials({ durationSeconds: environment.ASSUME_ROLE_DURATION_SECONDS }),
    ...withWorkloadIdentity(workloadIdentitySigners(environment)),
    secretsPrefix: environment.FENCE_SECRETS_PREFIX,
    recoveryWindowDays: environment.ADMIN_SECRET_RECOVERY_DAYS,
    endpointPolicy: StoreEndpointPolicy.fromEnvironment(environment),
    maxExpiresInCap: environment.MAX_URL_LIFETIME_SECONDS,
    audit: options.audit,
  });
}

/**
 * The registry admin writes go to: with `REGISTRY_SOURCE=postgres`, Fence DB written through to
 * the DynamoDB table; otherwise the table alone.
 */
export function wireRegistry(
  environment: Pick<
    AdminEnvironment,
    'REGISTRY_SOURCE' | 'FENCE_DB_URL' | 'FENCE_DB_SSL' | 'REGISTRY_TABLE_NAME'
  >,
  warn: (message: string, details: Record<string, unknown>) => void = () => undefined,
  /** Fence DB's connection when it comes from a secret (the admin Lambda), else `FENCE_DB_URL`. */
  fenceDb?: PoolConfig,
): BucketRegistry {
  if (environment.REGISTRY_SOURCE === 'dynamodb') {
    return new DynamoDbBucketRegistry(environment.REGISTRY_TABLE_NAME);
  }
  const connection =
    fenceDb ??
    (environment.FENCE_DB_URL === undefined
      ? undefined
      : fenceDbConnectionFromUrl(environment.FENCE_DB_URL, environment.FENCE_DB_SSL));
  if (connection === undefined) {
    throw new ConfigurationError('REGISTRY_SOURCE=postgres needs FENCE_DB_URL (postgres://…)');
  }
  return new WriteThroughBucketRegistry(
    PostgresBucketRegistry.connect(connection),
    new DynamoDbRegistryMirror(environment.REGISTRY_TABLE_NAME),
    {
      onMirrorFailure: (record, error) =>
        warn('registry mirror write failed; the next sync copies the record', {
          bucket: record.bucket_name,
          revision: record.revision,
          error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
        }),
    },
  );
}

function withWorkloadIdentity(signers: WorkloadIdentitySigners | undefined) {
  return signers === undefined ? {} : { workloadIdentity: signers };
}
