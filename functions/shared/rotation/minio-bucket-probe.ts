import type { StoreEndpointPolicy } from '../network/store-endpoint-policy';
import { probeStoreBucket } from '../probes/bucket-access-probe';
import type { MinioRotationSecret } from './minio-rotation-secret';

/** testSecret's proof: the key pair can see its bucket (the broker's one bucket probe, a signed HEAD). */
export function probeMinioBucket(secret: MinioRotationSecret, policy?: StoreEndpointPolicy): Promise<void> {
  return probeStoreBucket(
    {
      endpoint: new URL(secret.minio_endpoint),
      bucket: secret.minio_bucket,
      region: 'us-east-1',
      pathStyle: true,
    },
    {
      accessKeyId: secret.access_key_id,
      secretAccessKey: secret.secret_access_key,
      ...(secret.ca_bundle_pem === undefined ? {} : { caBundlePem: secret.ca_bundle_pem }),
    },
    // MinIO's admin answers take an Argon2id derivation, a HEAD does not; a loaded store still gets time.
    { timeoutMs: 15_000, ...(policy === undefined ? {} : { policy }) },
  );
}
