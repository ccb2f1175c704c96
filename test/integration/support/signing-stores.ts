import { S3Client } from '@aws-sdk/client-s3';
import { readEndpoints, type TestEndpoints } from '../services/endpoints';

/**
 * An S3 server that checks presigned URLs (signature, signed headers, expiry), so a URL the
 * broker makes is proven by fetching it. MinIO in every run; LocalStack's S3 as well in the
 * LocalStack run, so each URL is checked by two independent implementations (moto's S3 checks
 * no signature at all, which is why it is not one of them).
 */
export interface SigningStore {
  /** How test names call it. */
  name: 'MinIO' | 'LocalStack S3';
  /** Path segment of the bucket's secret name: `gen3/fence/<id>/<bucket>`. */
  id: 'minio' | 'localstack';
  endpoint: string;
  /** The record's provider: MinIO is `minio`; LocalStack stands for AWS S3 at an explicit endpoint. */
  provider: 'minio' | 'aws';
  /** What the registered bucket's secret holds. */
  keys: { access_key_id: string; secret_access_key: string };
  /**
   * Whether the store accepts URLs signed with credentials from the run's STS (LocalStack's S3
   * knows what its own STS issued; MinIO does not know moto's or LocalStack's STS).
   */
  acceptsRunStsCredentials: boolean;
  /** An S3 client for test setup and listings, with the same keys. */
  client(): S3Client;
}

export function minioStore(endpoints: TestEndpoints = readEndpoints()): SigningStore {
  const { minio } = endpoints;
  return store('MinIO', 'minio', minio.endpoint, 'minio', false, {
    access_key_id: minio.rootUser,
    secret_access_key: minio.rootPassword,
  });
}

/**
 * LocalStack checks a presigned URL with the secret key of the access key named in it when that
 * key is LocalStack's own (IAM or STS), and with the fixed secret key `test` for any other.
 * Unlike MinIO and AWS, it checks only presigned (query-string) signatures: requests signed in
 * headers, such as the broker's CreateMultipartUpload, pass whatever their signature.
 */
export function localstackStore(endpoint: string): SigningStore {
  return store('LocalStack S3', 'localstack', endpoint, 'aws', true, {
    access_key_id: 'test',
    secret_access_key: 'test',
  });
}

/** The stores of this run: MinIO, and LocalStack's S3 when the run has LocalStack. */
export function signingStores(endpoints: TestEndpoints = readEndpoints()): SigningStore[] {
  const localstack = endpoints.aws.localstack;
  return [minioStore(endpoints), ...(localstack === null ? [] : [localstackStore(localstack)])];
}

function store(
  name: SigningStore['name'],
  id: SigningStore['id'],
  endpoint: string,
  provider: SigningStore['provider'],
  acceptsRunStsCredentials: boolean,
  keys: SigningStore['keys'],
): SigningStore {
  return {
    name,
    id,
    endpoint,
    provider,
    keys,
    acceptsRunStsCredentials,
    client: () =>
      new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: keys.access_key_id, secretAccessKey: keys.secret_access_key },
      }),
  };
}
