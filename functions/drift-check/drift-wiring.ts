import type { AdminSecretsBackend } from '../shared/admin/bucket-proof';
import { adminSecretsBackend } from '../shared/backends/admin-backend-registry';
import { AwsSecretsManagerResolver } from '../shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { workloadIdentitySigners } from '../shared/backends/gcp/workload-identity-signers';
import { AssumedRoleCredentials } from '../shared/credentials/assumed-role-credentials';
import { DriftCheck, type DriftCheckDependencies } from '../shared/drift/drift-check';
import { DriftFinding } from '../shared/drift/drift-finding';
import { AwsKmsKeys } from '../shared/drift/kms-keys';
import { AwsSecretResourcePolicies } from '../shared/drift/secret-resource-policies';
import { MinioAdminClient } from '../shared/minio/minio-admin-client';
import { StoreEndpointPolicy } from '../shared/network/store-endpoint-policy';
import type { SecretsBackend } from '../shared/registry/bucket-record';
import type { BucketRegistry } from '../shared/registry/bucket-registry';
import { DynamoDbBucketRegistry } from '../shared/registry/dynamodb-bucket-registry';
import type { SecretPayload } from '../shared/secrets/secret-resolver';
import type { DriftEnvironment } from './environment';

/** The most one read of a MinIO admin secret may take in a drift run, retries included. */
const ADMIN_SECRET_READ_BUDGET_MS = 10_000;

/**
 * The composition root of the drift check, shared by the drift-check Lambda and
 * `fence-buckets drift-check`: the registry, the configured backends (reads uncached, as the
 * admin core's), STS, KMS, Secrets Manager resource policies and MinIO's admin API. Tests swap
 * any of them.
 */
export function wireDriftCheck(
  environment: DriftEnvironment,
  overrides: Partial<Omit<DriftCheckDependencies, 'backends'>> & {
    registry?: Pick<BucketRegistry, 'list'>;
    backends?: Partial<Record<SecretsBackend, AdminSecretsBackend>>;
  } = {},
): DriftCheck {
  const backends: Partial<Record<SecretsBackend, AdminSecretsBackend>> = {};
  for (const name of environment.FENCE_SECRETS_BACKEND) {
    backends[name] = overrides.backends?.[name] ?? adminSecretsBackend(name, environment);
  }
  // A batch job, not the hot path: the MinIO admin secrets get the drift check's patience, not
  // presign's 2 s read budget (sixteen checks at once on a busy Secrets Manager took longer, and
  // each then reported a healthy bucket as failed).
  const adminSecrets = new AwsSecretsManagerResolver({ budgetMs: ADMIN_SECRET_READ_BUDGET_MS });
  const workloadIdentity = overrides.workloadIdentity ?? workloadIdentitySigners(environment);
  const endpointPolicy = overrides.endpointPolicy ?? StoreEndpointPolicy.fromEnvironment(environment);
  return new DriftCheck({
    registry: overrides.registry ?? new DynamoDbBucketRegistry(environment.REGISTRY_TABLE_NAME),
    backends,
    roles:
      overrides.roles ??
      (() => new AssumedRoleCredentials({ durationSeconds: environment.ASSUME_ROLE_DURATION_SECONDS })),
    secretsPrefix: environment.FENCE_SECRETS_PREFIX,
    kms: overrides.kms ?? new AwsKmsKeys(),
    resourcePolicies: overrides.resourcePolicies ?? new AwsSecretResourcePolicies(),
    minioAdmin: overrides.minioAdmin ?? {
      credentials: (ref) => readAdminSecret(adminSecrets, ref, environment.FENCE_MINIO_ADMIN_SECRET_ARNS),
      client: (connection) => new MinioAdminClient(connection, endpointPolicy),
    },
    endpointPolicy,
    readers: {
      cacheTtlSeconds: environment.FENCE_SECRET_CACHE_TTL_SECONDS,
      cacheJitter: 0.1,
      staleOnErrorSeconds: environment.FENCE_SECRET_CACHE_MAX_STALE_SECONDS,
      marginSeconds: environment.FENCE_ROTATION_MARGIN_SECONDS,
      defaultMaxUrlLifetimeSeconds: environment.FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS,
    },
    allowInsecureMinioHttp: environment.FENCE_ALLOW_INSECURE_MINIO_HTTP,
    maxPinAgeDays: environment.DRIFT_MAX_PIN_AGE_DAYS,
    maxStaticKeyAgeDays: environment.DRIFT_MAX_STATIC_KEY_AGE_DAYS,
    ...(overrides.probe === undefined ? {} : { probe: overrides.probe }),
    ...(overrides.gcsProbe === undefined ? {} : { gcsProbe: overrides.gcsProbe }),
    ...(workloadIdentity === undefined ? {} : { workloadIdentity }),
    ...(overrides.clock === undefined ? {} : { clock: overrides.clock }),
  });
}

/**
 * A MinIO admin credential, by the ARN the deployment lists for it when there is a list: the
 * drift role's policy allows reading those ARNs and no other admin secret (by `SecretId`), so a
 * secret naming its admin secret by name is read by the matching ARN. A ref outside the list
 * cannot be read by rotation either: that is a finding.
 */
export async function readAdminSecret(
  resolver: Pick<AwsSecretsManagerResolver, 'get'>,
  ref: string,
  allowed: readonly string[] | undefined,
): Promise<SecretPayload> {
  if (allowed === undefined) return resolver.get(ref, 'AWSCURRENT');
  const arn = allowed.find((candidate) => candidate === ref || secretNameOfArn(candidate) === ref);
  if (arn === undefined) {
    throw new DriftFinding(
      `minio_admin_secret_ref ${ref} is not one of the deployment's minioAdminSecretArns: the rotation function cannot read it either`,
    );
  }
  return resolver.get(arn, 'AWSCURRENT');
}

/** `gen3/fence/admin/minio/x` of `arn:…:secret:gen3/fence/admin/minio/x-AbCdEf` (the suffix is 6 characters). */
export function secretNameOfArn(arn: string): string | undefined {
  const name = arn.split(':secret:')[1];
  return name === undefined ? undefined : name.replace(/-[A-Za-z0-9]{6}$/, '');
}
