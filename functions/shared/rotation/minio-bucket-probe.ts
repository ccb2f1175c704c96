import { Agent } from 'node:https';
import { Client } from 'minio';
import type { MinioRotationSecret } from './minio-rotation-secret';
import { RotationError } from './rotation-errors';

/** testSecret's proof: the key pair can see its bucket (a signed HEAD, through the `minio` client). */
export async function probeMinioBucket(secret: MinioRotationSecret): Promise<void> {
  const endpoint = new URL(secret.minio_endpoint);
  const secure = endpoint.protocol === 'https:';
  const client = new Client({
    endPoint: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : secure ? 443 : 80,
    useSSL: secure,
    accessKey: secret.access_key_id,
    secretKey: secret.secret_access_key,
    region: 'us-east-1',
    ...(secret.ca_bundle_pem === undefined
      ? {}
      : { transportAgent: new Agent({ ca: secret.ca_bundle_pem }) }),
  });
  if (!(await client.bucketExists(secret.minio_bucket))) {
    throw new RotationError(`bucket ${secret.minio_bucket} does not exist for the pending key`);
  }
}
