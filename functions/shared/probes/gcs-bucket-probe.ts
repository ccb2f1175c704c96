import { BrokerError, CredentialsRejectedError, StoreUnavailableError, ThrottledError } from '../errors';
import { exchange } from '../http/http-exchange';
import { type StoreEndpointPolicy, storeEndpointPolicy } from '../network/store-endpoint-policy';
import { objectLocation } from '../presign/object-location';
import type { BucketRecord } from '../registry/bucket-record';
import { type GcsSigner, GcsV4Presigner } from '../signing/gcs-v4-presigner';
import { encodeS3Path } from '../signing/sigv4-presigner';

const presigner = new GcsV4Presigner();
const GCS_CODES = new Set([
  'NoSuchKey',
  'NoSuchBucket',
  'AccessDenied',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidAccessKeyId',
  'UserProjectMissing',
]);

/**
 * Proves that `signer` can reach a GCS bucket the way Fence's URLs will: a V4-signed GET of an
 * object that does not exist. GCS checks the signature and the account's permission first, so
 * `NoSuchKey` (404) proves both and that the bucket exists; `NoSuchBucket`, 401 and 403 mean
 * the account cannot use the bucket. The object name is random and nothing is written.
 */
export async function probeGcsBucketAccess(
  record: BucketRecord,
  signer: GcsSigner,
  options: { timeoutMs?: number; policy?: StoreEndpointPolicy } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const guard = options.policy ?? storeEndpointPolicy();
  const key = `fence-bucket-broker-probe/${crypto.randomUUID()}`;
  const location = objectLocation(record, key);
  let answer: { status: number; body: string };
  try {
    const url = await presigner.presign(signer, {
      method: 'GET',
      protocol: location.protocol,
      host: location.host,
      bucket: record.bucket_name,
      encodedKey: encodeS3Path(key),
      expiresIn: 60,
      now: new Date(Math.floor(Date.now() / 1000) * 1000),
      deadline: Date.now() + timeoutMs,
    });
    answer = await exchange(url, { method: 'GET', headers: {}, body: '', timeoutMs, guard });
  } catch (error) {
    if (error instanceof BrokerError) throw error;
    throw new StoreUnavailableError(`GCS could not be reached to check bucket "${record.bucket_name}"`, {
      cause: error,
    });
  }
  const stated = /<Code>([^<]+)<\/Code>/.exec(answer.body)?.[1];
  // Only codes the broker knows are named in a message: the rest of the store's text stays out.
  const code = stated !== undefined && GCS_CODES.has(stated) ? stated : undefined;
  if (answer.status === 200 || (answer.status === 404 && code === 'NoSuchKey')) return;
  if (answer.status === 404 || answer.status === 401 || answer.status === 403) {
    throw new CredentialsRejectedError(
      code === 'NoSuchBucket'
        ? `GCS has no bucket "${record.bucket_name}"`
        : `GCS refused ${signer.email} on bucket "${record.bucket_name}" (${code ?? answer.status})`,
    );
  }
  if (answer.status === 429) {
    throw new ThrottledError(`GCS throttled the check of bucket "${record.bucket_name}"`, {
      retryAfterSeconds: 1,
    });
  }
  throw new StoreUnavailableError(
    `GCS failed the check of bucket "${record.bucket_name}" (${answer.status})`,
  );
}
