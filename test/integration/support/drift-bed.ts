import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { wireDriftCheck } from '../../../functions/drift-check/drift-wiring';
import { type DriftEnvironment, DriftEnvironmentSchema } from '../../../functions/drift-check/environment';
import { readEnvironment } from '../../../functions/shared/config/environment';
import type { DriftCheck } from '../../../functions/shared/drift/drift-check';
import type { BucketRecord } from '../../../functions/shared/registry/bucket-record';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { readEndpoints } from '../services/endpoints';
import { createRegistryTable, dynamoDb, uniqueName } from './aws';
import { createRotatingMinioSecret, type RotatingMinioSecret } from './rotating-minio-secret';
import { RotationDriver } from './rotation-driver';
import { testRotation } from './rotation-fixture';

/** The drift check wired as the Lambda wires it, over a fresh registry table on moto and the real MinIO. */
export async function driftBed(settings: Record<string, string> = {}) {
  const tableName = await createRegistryTable(dynamoDb());
  const registry = new DynamoDbBucketRegistry(tableName);
  const environment: DriftEnvironment = readEnvironment(DriftEnvironmentSchema, {
    REGISTRY_TABLE_NAME: tableName,
    // The test MinIO speaks http.
    FENCE_ALLOW_INSECURE_MINIO_HTTP: 'true',
    ...settings,
  });
  return {
    tableName,
    registry,
    environment,
    drift: (overrides: Parameters<typeof wireDriftCheck>[1] = {}): DriftCheck =>
      wireDriftCheck(environment, overrides),
  };
}

/** A customer KMS key in moto: its ARN, and its id (moto's DisableKey takes an id only). */
export async function createKmsKey(): Promise<{ arn: string; id: string }> {
  const created = await new KMSClient({}).send(new CreateKeyCommand({ Description: uniqueName('drift') }));
  return { arn: String(created.KeyMetadata?.Arn), id: String(created.KeyMetadata?.KeyId) };
}

export interface RotatedBucket {
  secret: RotatingMinioSecret;
  keyArn: string;
  keyId: string;
  record: BucketRecord;
}

/**
 * A healthy MinIO bucket as an operator runs one: its secret encrypted with its own KMS key,
 * rotated once by the rotation core (every 30 days), registered with `kms_key_ref`.
 */
export async function rotatedMinioBucket(
  registry: DynamoDbBucketRegistry,
  sm: SecretsManagerClient,
  options: { pin?: string } = {},
): Promise<RotatedBucket> {
  const { minio } = readEndpoints();
  const { arn: keyArn, id: keyId } = await createKmsKey();
  const secret = await createRotatingMinioSecret(minio, sm, { kmsKeyId: keyArn });
  const rotation = testRotation(sm);
  await new RotationDriver(sm, (event) => rotation.run(event)).rotate(secret.arn, {
    rules: { AutomaticallyAfterDays: 30 },
  });
  const record = await registry.create({
    bucket_name: secret.bucket,
    provider: 'minio',
    auth_mode: 'static',
    secrets_backend: 'aws_sm',
    secret_ref: secret.arn,
    secret_version: options.pin ?? null,
    endpoint: minio.endpoint,
    kms_key_ref: keyArn,
    allowed_ops: ['download'],
  });
  return { secret, keyArn, keyId, record };
}

/** An S3 bucket in moto (role-mode buckets live in AWS S3). */
export async function createS3Bucket(): Promise<string> {
  const bucket = uniqueName('role-bucket');
  await new S3Client({ forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}
