import { AwsSecretsManagerResolver } from '../shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { createSecretResolvers, type SecretResolvers } from '../shared/backends/backend-registry';
import { workloadIdentitySigners } from '../shared/backends/gcp/workload-identity-signers';
import type { SecretsEnvironment } from '../shared/backends/secrets-environment';
import { AssumedRoleCredentials } from '../shared/credentials/assumed-role-credentials';
import { BucketCredentialsService } from '../shared/credentials/bucket-credentials';
import { StoreEndpointPolicy } from '../shared/network/store-endpoint-policy';
import { MultipartStoreClient } from '../shared/presign/multipart-store-client';
import { PresignService } from '../shared/presign/presign-service';
import type { SecretsBackend } from '../shared/registry/bucket-record';
import type { BucketRegistry } from '../shared/registry/bucket-registry';
import { CachedBucketLookup } from '../shared/registry/cached-bucket-lookup';
import { DynamoDbBucketRegistry } from '../shared/registry/dynamodb-bucket-registry';
import { recordPolicyFrom } from '../shared/registry/record-policy';
import type { ResolverFactory } from '../shared/secrets/secrets-backend';
import { SigV4Presigner } from '../shared/signing/sigv4-presigner';
import { PRESIGN_CALL_BUDGETS_MS } from './budgets';
import type { PresignEnvironment } from './environment';

export interface PresignWiring {
  service: PresignService;
  lookup: CachedBucketLookup;
  secrets: SecretResolvers;
  roles: AssumedRoleCredentials;
}

/**
 * The composition root of the presign function (and the local runner): everything a request
 * needs, built once per container. Registry and backends can be swapped for local ones.
 */
export function wirePresignService(
  environment: PresignEnvironment,
  overrides: {
    registry?: Pick<BucketRegistry, 'getByName'>;
    backends?: Partial<Record<SecretsBackend, ResolverFactory<SecretsEnvironment>>>;
  } = {},
): PresignWiring {
  const registry =
    overrides.registry ??
    new DynamoDbBucketRegistry(environment.REGISTRY_TABLE_NAME, {
      budgetMs: PRESIGN_CALL_BUDGETS_MS.registry,
    });
  const lookup = new CachedBucketLookup(registry, {
    ttlMs: environment.REGISTRY_CACHE_TTL_SECONDS * 1000,
    maxEntries: environment.REGISTRY_CACHE_MAX_ENTRIES,
  });
  const secrets = createSecretResolvers(environment, {
    aws_sm: (settings) =>
      new AwsSecretsManagerResolver({
        budgetMs: PRESIGN_CALL_BUDGETS_MS.secrets,
        ...(settings.FENCE_SECRETS_KMS_KEY_ID === undefined
          ? {}
          : { kmsKeyId: settings.FENCE_SECRETS_KMS_KEY_ID }),
      }),
    ...overrides.backends,
  });
  const roles = new AssumedRoleCredentials({
    durationSeconds: environment.ASSUME_ROLE_DURATION_SECONDS,
    budgetMs: PRESIGN_CALL_BUDGETS_MS.sts,
  });
  const service = new PresignService({
    buckets: lookup,
    credentials: new BucketCredentialsService(
      secrets,
      roles,
      workloadIdentitySigners(environment, PRESIGN_CALL_BUDGETS_MS.sts),
    ),
    presigner: new SigV4Presigner(),
    multipart: new MultipartStoreClient(
      PRESIGN_CALL_BUDGETS_MS.store,
      StoreEndpointPolicy.fromEnvironment(environment),
    ),
    policy: recordPolicyFrom(environment),
    ...(environment.GCP_REQUESTER_PAYS_PROJECT === undefined
      ? {}
      : { gcsRequesterPaysProject: environment.GCP_REQUESTER_PAYS_PROJECT }),
  });
  return { service, lookup, secrets, roles };
}
