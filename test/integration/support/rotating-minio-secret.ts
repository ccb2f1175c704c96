import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { minioRootClient, uniqueName } from './aws';

export interface MinioServerAccess {
  endpoint: string;
  rootUser: string;
  rootPassword: string;
}

export interface RotatingMinioSecret {
  name: string;
  arn: string;
  bucket: string;
  parent: string;
  adminRef: string;
  first: { accessKey: string; secretKey: string };
}

export interface RotatingMinioSecretOptions {
  /** What the secret names as `minio_endpoint` (a proxy, say); setup always uses the server directly. */
  endpoint?: string;
  /** Objects to put in the bucket. */
  objects?: Record<string, string>;
  /** More payload fields (client certificates, fields rotation does not know). */
  fields?: Record<string, string>;
  /** The credential the admin secret holds. @default MinIO's root user */
  admin?: { accessKey: string; secretKey: string };
  /** KMS key of the rotating secret. @default Secrets Manager's default key */
  kmsKeyId?: string;
}

/**
 * A bucket, a MinIO parent user with a first access key, the admin secret, and the rotating
 * secret in Secrets Manager: what an operator sets up before enabling rotation (docs/rotation.md:
 * the first key is an ordinary access key, with no description of ours).
 */
export async function createRotatingMinioSecret(
  minio: MinioServerAccess,
  secrets: SecretsManagerClient,
  options: RotatingMinioSecretOptions = {},
): Promise<RotatingMinioSecret> {
  const root = new MinioAdminClient({
    endpoint: minio.endpoint,
    accessKey: minio.rootUser,
    secretKey: minio.rootPassword,
  });
  const s3 = minioRootClient(minio);
  const bucket = uniqueName('rotated');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of Object.entries(options.objects ?? {})) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
  const parent = uniqueName('fence-parent');
  await root.addUser(parent, randomBytes(24).toString('base64url'));
  await root.attachPolicies(parent, ['readwrite']);
  const adminRef = `gen3/fence/admin/minio/${uniqueName('minio')}`;
  const admin = options.admin ?? { accessKey: minio.rootUser, secretKey: minio.rootPassword };
  await secrets.send(
    new CreateSecretCommand({
      Name: adminRef,
      SecretString: JSON.stringify({ access_key_id: admin.accessKey, secret_access_key: admin.secretKey }),
    }),
  );
  const name = `gen3/fence/minio/${bucket}`;
  const first = {
    accessKey: `FBB${randomBytes(8).toString('hex').toUpperCase()}`.slice(0, 20),
    secretKey: randomBytes(30).toString('base64url'),
  };
  await root.addServiceAccount({ targetUser: parent, ...first });
  const created = await secrets.send(
    new CreateSecretCommand({
      Name: name,
      ...(options.kmsKeyId === undefined ? {} : { KmsKeyId: options.kmsKeyId }),
      SecretString: JSON.stringify({
        access_key_id: first.accessKey,
        secret_access_key: first.secretKey,
        minio_endpoint: options.endpoint ?? minio.endpoint,
        minio_parent_user: parent,
        minio_admin_secret_ref: adminRef,
        minio_bucket: bucket,
        ...options.fields,
      }),
    }),
  );
  return { name, arn: created.ARN ?? name, bucket, parent, adminRef, first };
}
