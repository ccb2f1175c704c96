import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3Error } from './demo-store-protocol';

/** The one key pair the demo store accepts. */
export interface DemoStoreCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /**
   * When set, every request must carry this token (`X-Amz-Security-Token`), as temporary
   * credentials would; when unset, a request that carries one is refused.
   */
  readonly sessionToken?: string;
}

/** A request as it arrived, before any interpretation beyond splitting and decoding. */
export interface ReceivedRequest {
  method: string;
  /** The path exactly as sent: still percent-encoded, never normalized. */
  rawPath: string;
  /** Query parameters in the order sent, names and values percent-decoded. */
  query: readonly (readonly [string, string])[];
  /** Values by lower-case name; a repeated header's values joined with commas, as SigV4 does. */
  headers: ReadonlyMap<string, string>;
}

/** What the signature says about the body: its SHA-256 when the client signed one. */
export interface PayloadClaim {
  /** Hex SHA-256 the body must have, or undefined for `UNSIGNED-PAYLOAD` (presigned URLs). */
  sha256?: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNED_HEADERS = /^[a-z0-9!#$%&'*+.^_`|~-]+(;[a-z0-9!#$%&'*+.^_`|~-]+)*$/;
/** S3 refuses presigned URLs that live longer than a week. */
const MAX_EXPIRES_SECONDS = 604_800;
/** S3 refuses header-signed requests whose date is further than this from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

/**
 * Checks the SigV4 signature of each request, presigned (query) or signed in the Authorization
 * header. The expected signature is recomputed by `@smithy/signature-v4`, not by the broker's
 * own presigner, so a mistake in the broker's signing cannot hide behind the same mistake here.
 * It is computed from the request as received: the method, the raw path (S3 neither normalizes
 * nor re-encodes paths), the query minus the signature, and the values of exactly the headers the
 * client says it signed. A signed `content-type` therefore has to match what is sent.
 */
export class SigV4Verifier {
  private readonly signer: SignatureV4;

  constructor(
    private readonly credentials: DemoStoreCredentials,
    private readonly region: string,
    private readonly clock: () => number,
  ) {
    this.signer = new SignatureV4({
      credentials: { ...credentials },
      region,
      service: 's3',
      sha256: Sha256,
      // S3 signs the path as sent; escaping it again would be the double encoding S3 never does.
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  /** Resolves with what the body must hash to, or throws the S3Error S3 would answer. */
  async verify(request: ReceivedRequest): Promise<PayloadClaim> {
    const authorization = request.headers.get('authorization');
    const presigned = request.query.some(
      ([name]) => name === 'X-Amz-Signature' || name === 'X-Amz-Algorithm',
    );
    if (authorization !== undefined && presigned)
      throw new S3Error(400, 'InvalidArgument', 'Only one auth mechanism allowed');
    if (presigned) return this.verifyQuery(request);
    if (authorization !== undefined) return this.verifyHeader(request, authorization);
    throw new S3Error(403, 'AccessDenied', 'Anonymous access is not allowed');
  }

  private async verifyQuery(request: ReceivedRequest): Promise<PayloadClaim> {
    const malformed = (message: string) => new S3Error(400, 'AuthorizationQueryParametersError', message);
    const single = (name: string): string => {
      const values = request.query.filter(([key]) => key === name);
      if (values.length !== 1 || values[0] === undefined)
        throw malformed(`Query-string authentication requires exactly one ${name} parameter.`);
      return values[0][1];
    };
    if (single('X-Amz-Algorithm') !== ALGORITHM)
      throw malformed(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
    const amzDate = single('X-Amz-Date');
    const signedAt = parseAmzDate(amzDate);
    if (signedAt === undefined)
      throw malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    const expires = single('X-Amz-Expires');
    if (!/^\d{1,7}$/.test(expires)) throw malformed('X-Amz-Expires should be a number');
    const expiresIn = Number(expires);
    if (expiresIn > MAX_EXPIRES_SECONDS)
      throw malformed(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_EXPIRES_SECONDS}`);
    const signedHeaders = single('X-Amz-SignedHeaders');
    const signature = single('X-Amz-Signature');
    this.checkScope(single('X-Amz-Credential'), amzDate, malformed);
    const tokens = request.query.filter(([name]) => name === 'X-Amz-Security-Token');
    if (tokens.length > 1) throw malformed('Query-string authentication allows one X-Amz-Security-Token.');
    this.checkToken(tokens[0]?.[1]);
    const headers = this.signedHeaderValues(request, signedHeaders, malformed);

    const now = this.clock();
    if (now > signedAt + expiresIn * 1000) throw new S3Error(403, 'AccessDenied', 'Request has expired');
    if (signedAt > now + MAX_SKEW_MS) throw new S3Error(403, 'AccessDenied', 'Request is not valid yet');

    // Presigned URLs always sign UNSIGNED-PAYLOAD; the header is given to the signer only to say
    // so, and is not signed unless the client signed it.
    const signedNames = new Set(Object.keys(headers));
    if (!signedNames.has('x-amz-content-sha256')) headers['x-amz-content-sha256'] = UNSIGNED_PAYLOAD;
    const query = queryRecord(request.query.filter(([name]) => name !== 'X-Amz-Signature'));
    const expected = await this.signer.presign(
      { method: request.method, protocol: 'http:', hostname: '', path: request.rawPath, query, headers },
      {
        signingDate: new Date(signedAt),
        expiresIn,
        signableHeaders: signedNames,
        unsignableHeaders: new Set(['x-amz-content-sha256'].filter((name) => !signedNames.has(name))),
        // Headers stay headers: hoisting an x-amz-* one into the query would change what is signed.
        unhoistableHeaders: new Set([...signedNames, 'x-amz-content-sha256']),
      },
    );
    this.compare(String(expected.query?.['X-Amz-Signature'] ?? ''), signature);
    return {};
  }

  private async verifyHeader(request: ReceivedRequest, authorization: string): Promise<PayloadClaim> {
    const malformed = (message: string) => new S3Error(400, 'AuthorizationHeaderMalformed', message);
    const fields = parseAuthorization(authorization);
    if (fields === undefined)
      throw malformed(`The authorization header is malformed; it must start with "${ALGORITHM} "`);
    const amzDate = request.headers.get('x-amz-date');
    const signedAt = amzDate === undefined ? undefined : parseAmzDate(amzDate);
    if (amzDate === undefined || signedAt === undefined)
      throw new S3Error(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    this.checkScope(fields.credential, amzDate, malformed);
    this.checkToken(request.headers.get('x-amz-security-token'));
    const headers = this.signedHeaderValues(request, fields.signedHeaders, malformed);
    if (Math.abs(this.clock() - signedAt) > MAX_SKEW_MS) {
      throw new S3Error(
        403,
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
      );
    }
    const payloadHash = request.headers.get('x-amz-content-sha256');
    if (payloadHash === undefined)
      throw new S3Error(
        400,
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
      );
    if (payloadHash.startsWith('STREAMING-'))
      throw new S3Error(501, 'NotImplemented', 'The demo store does not accept aws-chunked uploads');
    if (payloadHash !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(payloadHash))
      throw new S3Error(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256');
    const signedNames = new Set(Object.keys(headers));
    // The signer reads the payload hash from this header, signed or not.
    headers['x-amz-content-sha256'] = payloadHash;

    const expected = await this.signer.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: '',
        path: request.rawPath,
        query: queryRecord(request.query),
        headers,
      },
      {
        signingDate: new Date(signedAt),
        signableHeaders: signedNames,
        unsignableHeaders: new Set(['x-amz-content-sha256'].filter((name) => !signedNames.has(name))),
      },
    );
    const computed = /Signature=([0-9a-f]+)$/.exec(String(expected.headers.authorization))?.[1] ?? '';
    this.compare(computed, fields.signature);
    return payloadHash === UNSIGNED_PAYLOAD ? {} : { sha256: payloadHash };
  }

  /** The credential scope must name our key, the request's day, our region and S3. */
  private checkScope(credential: string, amzDate: string, malformed: (message: string) => S3Error): void {
    const parts = credential.split('/');
    if (parts.length !== 5) throw malformed(`Error parsing the Credential parameter: "${credential}"`);
    const [accessKeyId, day, region, service, terminator] = parts;
    if (day !== amzDate.slice(0, 8))
      throw malformed('Invalid credential date. Date is not the same as X-Amz-Date.');
    if (region !== this.region)
      throw malformed(
        `Error parsing the X-Amz-Credential parameter; the region '${region}' is wrong; expecting '${this.region}'`,
      );
    if (service !== 's3' || terminator !== 'aws4_request')
      throw malformed(
        'Error parsing the X-Amz-Credential parameter; incorrect service or terminal "aws4_request".',
      );
    if (!sameText(accessKeyId ?? '', this.credentials.accessKeyId)) {
      throw new S3Error(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
    }
  }

  private checkToken(token: string | undefined): void {
    const expected = this.credentials.sessionToken;
    const matches =
      token === undefined || expected === undefined ? token === expected : sameText(token, expected);
    if (!matches)
      throw new S3Error(400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
  }

  /** The values of the headers the client signed; `host` must be among them, as SigV4 requires. */
  private signedHeaderValues(
    request: ReceivedRequest,
    signedHeaders: string,
    malformed: (message: string) => S3Error,
  ): Record<string, string> {
    if (!SIGNED_HEADERS.test(signedHeaders)) throw malformed(`SignedHeaders "${signedHeaders}" is malformed`);
    const names = signedHeaders.split(';');
    if (!names.includes('host')) throw malformed('SignedHeaders must include host');
    const headers: [string, string][] = [];
    for (const name of names) {
      const value = request.headers.get(name);
      // A header signed but not sent cannot match anything the client signed.
      if (value === undefined) throw signatureMismatch();
      headers.push([name, value]);
    }
    // fromEntries defines own properties, so a header named `__proto__` stays a header.
    return Object.fromEntries(headers);
  }

  private compare(expected: string, received: string): void {
    if (!sameText(expected, received)) throw signatureMismatch();
  }
}

function signatureMismatch(): S3Error {
  return new S3Error(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );
}

/**
 * Compares in constant time. Both sides are hashed first so their lengths are equal and the
 * comparison reveals nothing about how long the secret side is.
 */
function sameText(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** `YYYYMMDDTHHMMSSZ` as epoch milliseconds, or undefined when it is not a real date. */
function parseAmzDate(text: string): number | undefined {
  const match = AMZ_DATE.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const time = Date.UTC(year ?? 0, (month ?? 0) - 1, day, hour, minute, second);
  // Date.UTC rolls 20240231 over into March; such a date is malformed, not a different day.
  return new Date(time).toISOString().replace(/[-:]|\.\d{3}/g, '') === text ? time : undefined;
}

/** `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, in any order of the three. */
function parseAuthorization(
  header: string,
): { credential: string; signedHeaders: string; signature: string } | undefined {
  if (!header.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) return undefined;
    fields.set(part.slice(0, separator).trim(), part.slice(separator + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) return undefined;
  return { credential, signedHeaders, signature };
}

/** The signer's query shape: a repeated name becomes a list, which it sorts as SigV4 requires. */
function queryRecord(query: readonly (readonly [string, string])[]): Record<string, string | string[]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of query) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  return Object.fromEntries(
    [...grouped].map(([name, values]) => [name, values.length === 1 ? (values[0] ?? '') : values]),
  );
}
