import type { BucketRecord } from '../registry/bucket-record';
import { encodeS3Path } from './sigv4-presigner';

/** Where an object lives, in the parts a SigV4 signer needs. */
export interface ObjectLocation {
  protocol: 'https:' | 'http:';
  host: string;
  /** URI-encoded path, starting with `/`. */
  path: string;
  region: string;
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
  if (record.endpoint !== null) {
    const endpoint = parsedEndpoint(record.endpoint);
    return {
      protocol: endpoint.protocol,
      host: endpoint.host,
      path: `${endpoint.prefix}/${record.bucket_name}/${encodedKey}`,
      region,
    };
  }
  if (record.provider === 'gcp') {
    return {
      protocol: 'https:',
      host: 'storage.googleapis.com',
      path: `/${record.bucket_name}/${encodedKey}`,
      region: 'auto',
    };
  }
  if (record.bucket_name.includes('.')) {
    return {
      protocol: 'https:',
      host: `s3.${region}.amazonaws.com`,
      path: `/${record.bucket_name}/${encodedKey}`,
      region,
    };
  }
  return {
    protocol: 'https:',
    host: `${record.bucket_name}.s3.${region}.amazonaws.com`,
    path: `/${encodedKey}`,
    region,
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
