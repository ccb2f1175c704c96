import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { SecretResolvers } from '../../../functions/shared/backends/backend-registry';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { CachingSecretResolver } from '../../../functions/shared/secrets/caching-secret-resolver';
import { SigV4Presigner } from '../../../functions/shared/signing/sigv4-presigner';
import { readEndpoints } from '../services/endpoints';
import { createRegistryTable, dynamoDb, secretsManager, uniqueName } from './aws';
import { minioStore, type SigningStore } from './signing-stores';

/**
 * A bucket on a signature-checking store (MinIO unless told otherwise) with its keys in
 * (emulated) Secrets Manager and a record in the registry, and the presign service over them.
 */
export async function presignBed(options: { lookupTtlMs?: number; store?: SigningStore } = {}) {
  const endpoints = readEndpoints();
  const store = options.store ?? minioStore(endpoints);
  const s3 = store.client();
  const bucketName = uniqueName('presign');
  await s3.send(new CreateBucketCommand({ Bucket: bucketName }));
  const secretRef = `gen3/fence/${store.id}/${bucketName}`;
  await secretsManager().send(
    new CreateSecretCommand({ Name: secretRef, SecretString: JSON.stringify(store.keys) }),
  );
  const tableName = await createRegistryTable(dynamoDb());
  const registry = new DynamoDbBucketRegistry(tableName);
  const record = await registry.create({
    bucket_name: bucketName,
    provider: store.provider,
    auth_mode: 'static',
    secrets_backend: 'aws_sm',
    secret_ref: secretRef,
    endpoint: store.endpoint,
    region: 'us-east-1',
    allowed_ops: ['download', 'upload', 'multipart'],
  });
  const roles = new AssumedRoleCredentials();
  const secrets = new SecretResolvers(
    new Map([['aws_sm', new CachingSecretResolver(new AwsSecretsManagerResolver())]]),
  );
  const service = new PresignService({
    buckets: new CachedBucketLookup(registry, { ttlMs: options.lookupTtlMs ?? 10_000 }),
    credentials: new BucketCredentialsService(secrets, roles),
    presigner: new SigV4Presigner(),
    multipart: new MultipartStoreClient(),
  });
  return { s3, store, bucketName, tableName, record, registry, roles, secrets, service, endpoints };
}
