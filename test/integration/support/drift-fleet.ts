import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { forEachBounded } from '../../../functions/shared/drift/drift-finding';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import type { BucketRegistration } from '../../../functions/shared/registry/bucket-record';
import type { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { createRoleRequiringExternalId, minioRootClient, uniqueName } from './aws';
import { createKmsKey } from './drift-bed';
import { createRotatingMinioSecret, type MinioServerAccess } from './rotating-minio-secret';
import { RotationDriver } from './rotation-driver';
import { testRotation } from './rotation-fixture';

/** What a fleet's drift run must report: the buckets that fail, and those suspended. */
export interface FleetExpectations {
  size: number;
  failing: Set<string>;
  suspended: Set<string>;
  /** Secret values the fleet's secrets hold: none may appear in a report. */
  secretValues: string[];
  kinds: { static: number; rotated: number; role: number; suspended: number };
}

/**
 * A registry of `size` records as a deployment grows one (scaled from 1,000): 40 % static MinIO
 * buckets (ten per MinIO user and secret, each secret under one of four customer KMS keys that
 * the records name), 1 % MinIO-rotated buckets (rotated once), 39 % role buckets in S3 (four
 * roles whose trust policies require an external id) and 20 % suspended records. Five static
 * records name a secret that was deleted and five role records carry a wrong external id: those
 * ten, and only those, must fail.
 */
export async function createDriftFleet(
  registry: DynamoDbBucketRegistry,
  sm: SecretsManagerClient,
  minio: MinioServerAccess,
  size = 1000,
): Promise<FleetExpectations> {
  const count = (share: number) => Math.round(size * share);
  const kinds = { static: count(0.4), rotated: count(0.01), role: count(0.39), suspended: 0 };
  kinds.suspended = size - kinds.static - kinds.rotated - kinds.role;
  const registrations: BucketRegistration[] = [];
  const failing = new Set<string>();
  const suspended = new Set<string>();
  const secretValues: string[] = [];
  const s3 = minioRootClient(minio);
  const root = new MinioAdminClient({
    endpoint: minio.endpoint,
    accessKey: minio.rootUser,
    secretKey: minio.rootPassword,
  });
  const keys = await Promise.all([0, 1, 2, 3].map(() => createKmsKey()));

  // Static: ten buckets per MinIO user and secret.
  const users = Math.ceil(kinds.static / 10);
  const staticBuckets: string[] = [];
  await forEachBounded([...Array(users).keys()], 8, async (user) => {
    const accessKey = `fleet${randomBytes(6).toString('hex')}`;
    const secretKey = `canary-${randomBytes(16).toString('hex')}`;
    secretValues.push(secretKey);
    await root.addUser(accessKey, secretKey);
    await root.attachPolicies(accessKey, ['readwrite']);
    const key = keys[user % keys.length];
    const secret = await sm.send(
      new CreateSecretCommand({
        Name: `gen3/fence/minio/${uniqueName('fleet')}`,
        KmsKeyId: key?.arn,
        SecretString: JSON.stringify({ access_key_id: accessKey, secret_access_key: secretKey }),
      }),
    );
    for (let index = 0; index < 10 && user * 10 + index < kinds.static; index++) {
      const bucket = uniqueName(`fleet-static-${user}-${index}`);
      staticBuckets.push(bucket);
      registrations.push({
        bucket_name: bucket,
        provider: 'minio',
        auth_mode: 'static',
        secrets_backend: 'aws_sm',
        secret_ref: String(secret.ARN),
        endpoint: minio.endpoint,
        kms_key_ref: key?.arn ?? null,
        allowed_ops: ['download'],
      });
    }
  });
  await forEachBounded(staticBuckets, 16, async (bucket) => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  // Five records whose secret is gone (deleted without recovery).
  for (let index = 0; index < 5; index++) {
    const secret = await sm.send(
      new CreateSecretCommand({
        Name: `gen3/fence/minio/${uniqueName('fleet-deleted')}`,
        SecretString: JSON.stringify({ access_key_id: 'GONE', secret_access_key: 'gone-secret-key' }),
      }),
    );
    await sm.send(new DeleteSecretCommand({ SecretId: secret.ARN, ForceDeleteWithoutRecovery: true }));
    const registration = registrations.find(
      (entry) =>
        entry.auth_mode === 'static' &&
        !failing.has(entry.bucket_name) &&
        entry.secret_ref?.includes('fleet-'),
    );
    if (registration === undefined) break;
    registration.secret_ref = String(secret.ARN);
    registration.kms_key_ref = null;
    failing.add(registration.bucket_name);
  }

  // MinIO-rotated, each rotated once.
  await forEachBounded([...Array(kinds.rotated).keys()], 4, async () => {
    const secret = await createRotatingMinioSecret(minio, sm);
    const rotation = testRotation(sm);
    await new RotationDriver(sm, (event) => rotation.run(event)).rotate(secret.arn, {
      rules: { AutomaticallyAfterDays: 30 },
    });
    secretValues.push(secret.first.secretKey);
    registrations.push({
      bucket_name: secret.bucket,
      provider: 'minio',
      auth_mode: 'static',
      secrets_backend: 'aws_sm',
      secret_ref: secret.arn,
      endpoint: minio.endpoint,
      allowed_ops: ['download'],
    });
  });

  // Role: S3 buckets behind four roles; five records carry a wrong external id.
  const roles = await Promise.all(
    [0, 1, 2, 3].map(async (index) => {
      const externalId = `gen3-commons-${index}`;
      return { arn: await createRoleRequiringExternalId(externalId), externalId };
    }),
  );
  const s3Aws = new S3Client({ forcePathStyle: true });
  await forEachBounded([...Array(kinds.role).keys()], 16, async (index) => {
    const bucket = uniqueName(`fleet-role-${index}`);
    await s3Aws.send(new CreateBucketCommand({ Bucket: bucket }));
    const role = roles[index % roles.length] ?? { arn: '', externalId: '' };
    const wrong = index < 5;
    if (wrong) failing.add(bucket);
    registrations.push({
      bucket_name: bucket,
      provider: 'aws',
      auth_mode: 'role',
      role_arn: role.arn,
      external_id: wrong ? 'not-the-external-id' : role.externalId,
      region: 'us-east-1',
      allowed_ops: ['download'],
    });
  });

  // Suspended: reported, never checked (their buckets and secrets need not exist).
  for (let index = 0; index < kinds.suspended; index++) {
    const bucket = uniqueName(`fleet-suspended-${index}`);
    suspended.add(bucket);
    registrations.push({
      bucket_name: bucket,
      provider: 'minio',
      auth_mode: 'static',
      secrets_backend: 'aws_sm',
      secret_ref: `gen3/fence/minio/${bucket}`,
      endpoint: minio.endpoint,
      allowed_ops: ['download'],
      status: 'suspended',
    });
  }

  await forEachBounded(registrations, 25, async (registration) => {
    await registry.create(registration);
  });
  return { size: registrations.length, failing, suspended, secretValues, kinds };
}
