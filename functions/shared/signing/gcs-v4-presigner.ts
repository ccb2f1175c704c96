import { createHash, createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { uriEscape } from './sigv4-presigner';

/**
 * What signs a GCS V4 string-to-sign with a service account's key: locally with the key, or
 * remotely through IAM Credentials `signBlob`. `email` is the account the URL is signed as.
 */
export interface GcsSigner {
  readonly email: string;
  /** RSA-SHA256 signature (PKCS #1 v1.5) of `stringToSign`, by `deadline` (epoch ms) at the latest. */
  sign(stringToSign: string, deadline?: number): Buffer | Promise<Buffer>;
}

/** One GCS URL to presign. `encodedKey` is the object name, URI-encoded with `/` kept (`encodeS3Path`). */
export interface GcsPresignTarget {
  method: string;
  bucket: string;
  encodedKey: string;
  /** @default storage.googleapis.com */
  host?: string;
  /** @default 'https:' */
  protocol?: 'https:' | 'http:';
  /** Extra query parameters to sign into the URL (audit fields). */
  query?: Readonly<Record<string, string>>;
  /** Headers the client must send, lower-case names (content-type); signed. */
  headers?: Readonly<Record<string, string>>;
  expiresIn: number;
  now: Date;
  /** Epoch ms by which a remote signature must be back. */
  deadline?: number;
}

const ALGORITHM = 'GOOG4-RSA-SHA256';

/**
 * GCS V4 query signing (Google's "V4 signing process"): a canonical request much like SigV4's,
 * hashed into a string to sign with the credential scope `<date>/auto/storage/goog4_request`,
 * signed with the service account's RSA key. The URL is byte-identical to what
 * `@google-cloud/storage`'s `getSignedUrl({ version: 'v4' })` makes for the same inputs and
 * key (a property test holds them equal), without loading that library.
 */
export class GcsV4Presigner {
  async presign(signer: GcsSigner, target: GcsPresignTarget): Promise<string> {
    const { stringToSign, query } = this.prepare(signer.email, target);
    const signature = await signer.sign(stringToSign, target.deadline);
    return `${target.protocol ?? 'https:'}//${target.host ?? 'storage.googleapis.com'}/${target.bucket}/${target.encodedKey}?${query}&X-Goog-Signature=${signature.toString('hex')}`;
  }

  /** The string to sign and the URL's query (without the signature), for one target. */
  prepare(email: string, target: GcsPresignTarget): { stringToSign: string; query: string } {
    const host = target.host ?? 'storage.googleapis.com';
    const datetime = target.now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const scope = `${datetime.slice(0, 8)}/auto/storage/goog4_request`;
    const headers: [string, string][] = [['host', host]];
    for (const [name, value] of Object.entries(target.headers ?? {})) {
      headers.push([name.toLowerCase(), value.trim().replace(/\s{2,}/g, ' ')]);
    }
    headers.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const signedHeaders = headers.map(([name]) => name).join(';');
    // The URL keeps this order (the X-Goog-* fields, then the caller's); the canonical form is sorted.
    const fields: [string, string][] = [
      ['X-Goog-Algorithm', ALGORITHM],
      ['X-Goog-Credential', `${email}/${scope}`],
      ['X-Goog-Date', datetime],
      ['X-Goog-Expires', String(target.expiresIn)],
      ['X-Goog-SignedHeaders', signedHeaders],
      ...Object.entries(target.query ?? {}),
    ];
    const encoded = fields.map(([name, value]) => [uriEscape(name), uriEscape(value)] as const);
    const canonicalQuery = [...encoded]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, value]) => `${name}=${value}`)
      .join('&');
    const canonicalRequest = [
      target.method,
      `/${target.bucket}/${target.encodedKey}`,
      canonicalQuery,
      headers.map(([name, value]) => `${name}:${value}\n`).join(''),
      signedHeaders,
      'UNSIGNED-PAYLOAD',
    ].join('\n');
    const hash = createHash('sha256').update(canonicalRequest).digest('hex');
    return {
      stringToSign: `${ALGORITHM}\n${datetime}\n${scope}\n${hash}`,
      query: encoded.map(([name, value]) => `${name}=${value}`).join('&'),
    };
  }
}

/** Signs locally with a service-account key (`auth_mode: static`, `service_account_key_json`). */
export class ServiceAccountKeySigner implements GcsSigner {
  readonly email: string;
  private readonly key: KeyObject;

  constructor(key: { client_email: string; private_key: string }) {
    this.email = key.client_email;
    this.key = createPrivateKey(key.private_key);
  }

  sign(stringToSign: string): Buffer {
    return sign('sha256', Buffer.from(stringToSign, 'utf8'), this.key);
  }
}
