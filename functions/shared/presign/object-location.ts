import type { BucketRecord } from '../registry/bucket-record';
import { encodeS3Path } from '../signing/sigv4-presigner';

/** Where an object lives, in the parts a SigV4 or GCS V4 signer needs. */
export interface ObjectLocation {
  protocol: 'https:' | 'http:';
  host: string;
  /** URI-encoded path, starting with `/`. */
  path: string;
  region: string;
  /** The bucket, and the object name URI-encoded with `/` kept: a GCS V4 signature's resource. */
  bucket: string;
  encodedKey: string;
}

const DEFAULT_REGION = 'us-east-1';

/**
 * AWS buckets use virtual-hosted addressing (path style for names with dots, which break the
 * wildcard certificate); MinIO and other S3-compatible stores, and any bucket with an explicit
 * endpoint, use path style on that endpoint.
 */
export function objectLocation(record: BucketRecord, key: string): ObjectLocation {
  const region = record.region ?? DEFAULT_REGION;
  const encodedKey = encodeS3Path(key);
  const names = { bucket: record.bucket_name, encodedKey };
  if (record.endpoint !== null) {
    const endpoint = parsedEndpoint(record.endpoint);
    return {
      protocol: endpoint.protocol,
      host: endpoint.host,
      path: `${endpoint.prefix}/${record.bucket_name}/${encodedKey}`,
      region,
      ...names,
    };
  }
  if (record.provider === 'gcp') {
    return {
      protocol: 'https:',
      host: 'storage.googleapis.com',
      path: `/${record.bucket_name}/${encodedKey}`,
      region: 'auto',
      ...names,
    };
  }
  if (record.bucket_name.includes('.')) {
    return {
      protocol: 'https:',
      host: `s3.${region}.amazonaws.com`,
      path: `/${record.bucket_name}/${encodedKey}`,
      region,
      ...names,
    };
  }
  return {
    protocol: 'https:',
    host: `${record.bucket_name}.s3.${region}.amazonaws.com`,
    path: `/${encodedKey}`,
    region,
    ...names,
  };
}

// Records are cached and immutable, and few endpoints exist: parse each once.
const endpoints = new Map<string, { protocol: 'https:' | 'http:'; host: string; prefix: string }>();

function parsedEndpoint(text: string) {
  let parsed = endpoints.get(text);
  if (parsed === undefined) {
    const url = new URL(text);
    parsed = {
      protocol: url.protocol === 'http:' ? 'http:' : 'https:',
      host: url.host,
      prefix: url.pathname.replace(/\/+$/, ''),
    };
    if (endpoints.size >= 1000) endpoints.clear();
    endpoints.set(text, parsed);
  }
  return parsed;
}
