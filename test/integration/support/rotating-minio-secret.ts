import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { managedKeyDescription } from '../../../functions/shared/rotation/minio-key-rotation';
import { minioRootClient, uniqueName } from './aws';

export interface MinioServerAccess {
  endpoint: string;
  rootUser: string;
  rootPassword: string;
}

export interface RotatingMinioSecret {
  name: string;
  bucket: string;
  parent: string;
  first: { accessKey: string; secretKey: string };
}

/**
 * A bucket, a MinIO parent user with a first access key, the admin secret, and the rotating
 * secret in Secrets Manager: what an operator sets up before enabling rotation (README runbook).
 * `endpoint` is what the secret names (a proxy, say); setup always uses the server directly.
 */
export async function createRotatingMinioSecret(
  minio: MinioServerAccess,
  secrets: SecretsManagerClient,
  options: { endpoint?: string; objects?: Record<string, string> } = {},
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
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
  const parent = uniqueName('fence-parent');
  await root.addUser(parent, randomBytes(24).toString('base64url'));
  await root.attachPolicies(parent, ['readwrite']);
  const adminRef = `gen3/fence/minio-admin/${uniqueName('admin')}`;
  await secrets.send(
    new CreateSecretCommand({
      Name: adminRef,
      SecretString: JSON.stringify({ access_key_id: minio.rootUser, secret_access_key: minio.rootPassword }),
    }),
  );
  const name = `gen3/fence/minio/${bucket}`;
  const first = {
    accessKey: `FBB${randomBytes(8).toString('hex').toUpperCase()}`.slice(0, 20),
    secretKey: randomBytes(30).toString('base64url'),
  };
  await root.addServiceAccount({ targetUser: parent, ...first, description: managedKeyDescription(name) });
  await secrets.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({
        access_key_id: first.accessKey,
        secret_access_key: first.secretKey,
        minio_endpoint: options.endpoint ?? minio.endpoint,
        minio_parent_user: parent,
        minio_admin_secret_ref: adminRef,
        minio_bucket: bucket,
      }),
    }),
  );
  return { name, bucket, parent, first };
}
