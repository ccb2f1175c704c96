import * as cryptoModule from 'node:crypto';
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** Credentials that sign a URL. Reuse the same object for the same key: signing keys are cached on it. */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** One URL to presign. The path must already be URI-encoded (see `encodeS3Path`). */
export interface PresignTarget {
  method: string;
  protocol: 'https:' | 'http:';
  /** Host name, with `:port` when the port is not the protocol's default. */
  host: string;
  path: string;
  region: string;
  /** Extra query parameters to sign into the URL (audit fields, uploadId, partNumber, …). */
  query?: Readonly<Record<string, string>>;
  /** Headers the client must send, lower-case names; signed as SignedHeaders. */
  headers?: Readonly<Record<string, string>>;
  expiresIn: number;
  now: Date;
  /** @default 's3' */
  service?: string;
}

/** A request to sign in its Authorization header. Path URI-encoded; names of headers lower-case. */
export interface SignedRequest {
  method: string;
  host: string;
  path: string;
  query?: Readonly<Record<string, string>>;
  headers?: Readonly<Record<string, string>>;
  body?: string;
  /** Hex SHA-256 of the body, if already known. */
  payloadHash?: string;
  region: string;
  /** @default 's3' */
  service?: string;
  now: Date;
}

/** Headers proxies may change or drop, which SigV4 leaves unsigned (the SDK's list). */
const UNSIGNED_HEADERS = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/**
 * SigV4 query presigning on the hot path. It computes what `SignatureV4.presign` computes (a
 * property test proves the URLs byte-identical) without the per-call async machinery, and
 * caches each credential's signing key per day, region and service, so a URL costs two SHA-256
 * passes and one HMAC.
 */
export class SigV4Presigner {
  private readonly scopes = new WeakMap<SigningCredentials, Map<string, CredentialScope>>();
  private lastSecond = Number.NaN;
  private lastAmzDate = '';

  presign(credentials: SigningCredentials, target: PresignTarget): string {
    const service = target.service ?? 's3';
    const amzDate = this.amzDate(target.now);
    const day = amzDate.slice(0, 8);
    const scope = this.scope(credentials, day, target.region, service);

    const headers: [string, string][] = [['host', target.host]];
    if (target.headers) {
      for (const [name, value] of Object.entries(target.headers))
        headers.push([name, value.trim().replace(/\s+/g, ' ')]);
    }
    headers.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const signedHeaders = headers.map(([name]) => name).join(';');

    // Only the credential and the token need escaping among the X-Amz-* values; both are cached.
    const encoded: [string, string][] = [
      ['X-Amz-Algorithm', ALGORITHM],
      ['X-Amz-Credential', scope.encodedCredential],
      ['X-Amz-Date', amzDate],
      ['X-Amz-Expires', String(target.expiresIn)],
      ['X-Amz-SignedHeaders', uriEscape(signedHeaders)],
    ];
    if (scope.encodedToken !== undefined) encoded.push(['X-Amz-Security-Token', scope.encodedToken]);
    if (target.query) {
      for (const [key, value] of Object.entries(target.query))
        encoded.push([uriEscape(key), uriEscape(value)]);
    }
    encoded.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
    const canonicalQuery = encoded.map(([key, value]) => `${key}=${value}`).join('&');

    const canonicalRequest = [
      target.method,
      target.path,
      canonicalQuery,
      headers.map(([name, value]) => `${name}:${value}\n`).join(''),
      signedHeaders,
      UNSIGNED_PAYLOAD,
    ].join('\n');
    const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope.scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', scope.signingKey).update(stringToSign).digest('hex');
    return `${target.protocol}//${target.host}${target.path}?${canonicalQuery}&X-Amz-Signature=${signature}`;
  }

  /**
   * Signs a request in the Authorization header (for the few calls the broker makes itself:
   * DynamoDB and Secrets Manager reads, S3 multipart calls). Returns the headers to send,
   * `host` included; the property test holds them equal to `SignatureV4.sign`'s.
   */
  signHeaders(credentials: SigningCredentials, request: SignedRequest): Record<string, string> {
    const service = request.service ?? 's3';
    const amzDate = this.amzDate(request.now);
    const scope = this.scope(credentials, amzDate.slice(0, 8), request.region, service);
    const payloadHash = request.payloadHash ?? sha256Hex(request.body ?? '');
    const headers: Record<string, string> = { host: request.host };
    for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
    headers['x-amz-date'] = amzDate;
    if (credentials.sessionToken !== undefined) headers['x-amz-security-token'] = credentials.sessionToken;
    if (service === 's3') headers['x-amz-content-sha256'] = payloadHash;
    const names = Object.keys(headers)
      .filter((name) => !UNSIGNED_HEADERS.has(name))
      .sort();
    const signedHeaders = names.join(';');
    const query = Object.entries(request.query ?? {})
      .map(([key, value]) => [uriEscape(key), uriEscape(value)] as const)
      .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
      .map(([key, value]) => `${key}=${value}`)
      .join('&');
    const canonicalRequest = [
      request.method,
      request.path,
      query,
      names.map((name) => `${name}:${(headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join(''),
      signedHeaders,
      payloadHash,
    ].join('\n');
    const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope.scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', scope.signingKey).update(stringToSign).digest('hex');
    headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope.scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  /** `YYYYMMDDTHHMMSSZ`, formatted once per second rather than per URL. */
  private amzDate(now: Date): string {
    const second = Math.floor(now.getTime() / 1000);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.lastAmzDate = toAmzDate(now);
    }
    return this.lastAmzDate;
  }

  /** Signing key and encoded credential of one credential, day, region and service. */
  private scope(
    credentials: SigningCredentials,
    day: string,
    region: string,
    service: string,
  ): CredentialScope {
    let scopes = this.scopes.get(credentials);
    if (scopes === undefined) {
      scopes = new Map();
      this.scopes.set(credentials, scopes);
    }
    const name = `${day}/${region}/${service}`;
    let scope = scopes.get(name);
    if (scope === undefined) {
      // A day rolled over or a new region: older scopes for this credential can go.
      if (scopes.size >= 8) scopes.clear();
      const dateKey = hmac(`AWS4${credentials.secretAccessKey}`, day);
      const text = `${name}/aws4_request`;
      scope = {
        scope: text,
        signingKey: createSecretKey(hmac(hmac(hmac(dateKey, region), service), 'aws4_request')),
        encodedCredential: uriEscape(`${credentials.accessKeyId}/${text}`),
        encodedToken:
          credentials.sessionToken === undefined ? undefined : uriEscape(credentials.sessionToken),
      };
      scopes.set(name, scope);
    }
    return scope;
  }
}

interface CredentialScope {
  scope: string;
  signingKey: KeyObject;
  encodedCredential: string;
  encodedToken: string | undefined;
}

/** Encodes an object key as an S3 path: every byte but unreserved characters and `/` is %-encoded. */
export function encodeS3Path(key: string): string {
  return SAFE_PATH.test(key) ? key : key.split('/').map(uriEscape).join('/');
}

/** Keys made only of unreserved characters and slashes encode to themselves. */
const SAFE_PATH = /^[A-Za-z0-9\-._~/]*$/;

/** RFC 3986 encoding, as SigV4 requires (encodeURIComponent leaves !'()* alone). */
export function uriEscape(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `YYYYMMDDTHHMMSSZ` */
export function toAmzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

// One-shot hashing (Node ≥ 20.12) skips the Hash object; fall back where it is missing.
const oneShot = (cryptoModule as { hash?: (algorithm: string, data: string, encoding: 'hex') => string })
  .hash;
function sha256Hex(data: string): string {
  return oneShot === undefined
    ? createHash('sha256').update(data).digest('hex')
    : oneShot('sha256', data, 'hex');
}
