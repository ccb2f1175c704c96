import {
  BrokerError,
  CredentialsRejectedError,
  InvalidRequestError,
  StoreUnavailableError,
  ThrottledError,
} from '../errors';
import { ExchangeTimeoutError, exchange, type HttpAnswer } from '../http/http-exchange';
import { type StoreEndpointPolicy, storeEndpointPolicy } from '../network/store-endpoint-policy';
import { type GcsSigner, GcsV4Presigner } from '../signing/gcs-v4-presigner';
import { type SigningCredentials, SigV4Presigner } from '../signing/sigv4-presigner';
import type { ObjectLocation } from './object-location';

/** An S3-compatible store (S3, MinIO): each call is signed with SigV4 headers. */
export interface S3StoreAccess {
  credentials: SigningCredentials;
  caBundlePem?: string;
  /** Sends `x-amz-request-payer: requester`: the caller's account pays (S3 Requester Pays). */
  requesterPays?: boolean;
}

/**
 * GCS's XML API: each call is sent to a V4-signed URL made for it, signed as the bucket's
 * service account (locally or through signBlob), so the broker needs no OAuth token for GCS.
 */
export interface GcsStoreAccess {
  gcs: GcsSigner;
  /** The project billed on a requester-pays bucket, signed into the URL as `userProject`. */
  userProject?: string;
}

/** How the broker's own calls to a bucket's store are authorized. */
export type StoreAccess = S3StoreAccess | GcsStoreAccess;

/** Per-call limits on top of the client's own budget. */
export interface StoreCallOptions {
  /** Epoch milliseconds the call must be over by (the request's deadline). */
  deadline?: number;
}

/**
 * How long the URL of one of the broker's own GCS calls is valid: it is sent at once, so a
 * minute covers the call and some clock skew, and a leaked URL is soon worthless.
 */
const SIGNED_CALL_LIFETIME_SECONDS = 60;

/**
 * The three multipart calls that cannot be presigned for the client: create, complete and abort,
 * in the S3 multipart protocol, which S3, MinIO and GCS's XML API all speak. Two ways to
 * authorize a call (`StoreAccess`): SigV4 headers from the broker's own signer (S3, MinIO), or a
 * V4-signed URL (GCS). Requests go over `node:https`, which honours a store's private CA
 * bundle. Each call takes at most `budgetMs` (and never runs past the caller's deadline) once it
 * is signed: a store that does not answer in time is 503 `store_unavailable` with Retry-After,
 * answered while the function still can. (Signing through signBlob has its own budget.)
 *
 * Every call is checked by the store-endpoint policy, on its URL and after DNS at connect time
 * (400 `endpoint_not_allowed`), and no redirect is followed. Nothing the store writes reaches the
 * caller as it is: an upload id must look like one, error codes map to the broker's own.
 */
export class MultipartStoreClient {
  private readonly signer = new SigV4Presigner();
  private readonly gcsPresigner = new GcsV4Presigner();

  /**
   * @param budgetMs the most one call may take.
   * @param policy where calls may go. @default the process's (`STORE_ENDPOINT_…` variables)
   */
  constructor(
    private readonly budgetMs = 3000,
    private readonly policy: StoreEndpointPolicy = storeEndpointPolicy(),
  ) {}

  async initiate(
    location: ObjectLocation,
    access: StoreAccess,
    contentType?: string,
    options: StoreCallOptions = {},
  ): Promise<string> {
    const answer = await this.send(location, access, 'POST', { uploads: '' }, '', contentType, options);
    const uploadId = xmlText(answer.body, 'UploadId');
    if (uploadId === undefined)
      throw new StoreUnavailableError('the store answered CreateMultipartUpload without an UploadId');
    // The id goes back to the caller and into every part URL: only what a store's id looks like.
    if (!STORE_UPLOAD_ID.test(uploadId)) {
      throw new StoreUnavailableError(
        'the store answered CreateMultipartUpload with an UploadId that does not look like one',
      );
    }
    return uploadId;
  }

  async complete(
    location: ObjectLocation,
    access: StoreAccess,
    uploadId: string,
    parts: { part_number: number; etag: string }[],
    options: StoreCallOptions = {},
  ): Promise<string> {
    const body = `<CompleteMultipartUpload>${parts
      .map(
        (part) =>
          `<Part><PartNumber>${part.part_number}</PartNumber><ETag>${escapeXml(part.etag)}</ETag></Part>`,
      )
      .join('')}</CompleteMultipartUpload>`;
    const answer = await this.send(location, access, 'POST', { uploadId }, body, 'application/xml', options);
    // S3 may answer 200 and still report an error in the body.
    if (answer.body.includes('<Error>')) throw storeError(errorCode(answer.body), 500);
    const etag = xmlText(answer.body, 'ETag');
    if (etag === undefined)
      throw new StoreUnavailableError('the store answered CompleteMultipartUpload without an ETag');
    // Handed on to the caller: printable ASCII of an ETag's length (quotes and `-N` included).
    if (!STORE_ETAG.test(etag)) {
      throw new StoreUnavailableError(
        'the store answered CompleteMultipartUpload with an ETag that does not look like one',
      );
    }
    return etag;
  }

  async abort(
    location: ObjectLocation,
    access: StoreAccess,
    uploadId: string,
    options: StoreCallOptions = {},
  ): Promise<void> {
    await this.send(location, access, 'DELETE', { uploadId }, '', undefined, options);
  }

  private async send(
    location: ObjectLocation,
    access: StoreAccess,
    method: string,
    query: Record<string, string>,
    body: string,
    contentType: string | undefined,
    options: StoreCallOptions,
  ): Promise<HttpAnswer> {
    const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(body)) };
    if (contentType !== undefined) headers['content-type'] = contentType;
    let url: string;
    let sent = headers;
    let ca: string | undefined;
    if ('gcs' in access) {
      url = await this.gcsPresigner.presign(access.gcs, {
        method,
        protocol: location.protocol,
        host: location.host,
        bucket: location.bucket,
        encodedKey: location.encodedKey,
        query: access.userProject === undefined ? query : { ...query, userProject: access.userProject },
        headers: contentType === undefined ? {} : { 'content-type': contentType },
        expiresIn: SIGNED_CALL_LIFETIME_SECONDS,
        now: new Date(),
        ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
      });
    } else {
      if (access.requesterPays) headers['x-amz-request-payer'] = 'requester';
      sent = this.signer.signHeaders(access.credentials, {
        method,
        host: location.host,
        path: location.path,
        query,
        headers,
        body,
        region: location.region,
        now: new Date(),
      });
      const search = new URLSearchParams(query).toString().replace(/=(&|$)/g, '$1');
      url = `${location.protocol}//${location.host}${location.path}?${search}`;
      ca = access.caBundlePem;
    }
    const timeoutMs = Math.min(this.budgetMs, (options.deadline ?? Number.POSITIVE_INFINITY) - Date.now());
    const answer = await exchange(url, {
      method,
      headers: sent,
      body,
      timeoutMs,
      guard: this.policy,
      ...(ca === undefined ? {} : { ca }),
    }).catch((error: unknown) => {
      if (error instanceof BrokerError) throw error;
      throw new StoreUnavailableError(
        error instanceof ExchangeTimeoutError
          ? `the store at ${location.host} did not answer in time`
          : `the store at ${location.host} could not be reached`,
        { cause: error },
      );
    });
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw storeError(errorCode(answer.body), answer.status);
  }
}

const REJECTED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
]);

/**
 * What an upload id from a store may look like before it is handed on: S3's, MinIO's (URL-safe
 * base64), GCS's and Ceph's (`2~…`) ids are base64-like text of a few hundred characters at most.
 * Neither AWS nor Google documents a shape beyond "opaque string", so this is a cap on length and
 * a charset, not a format: anything else is a store answering something it should not.
 */
export const STORE_UPLOAD_ID = /^[A-Za-z0-9._~+/=-]{1,1024}$/;

/** An ETag as stores write them: `"<hex>"` or `"<hex>-<parts>"`, some stores unquoted. */
const STORE_ETAG = /^[ -~]{1,256}$/;

/** What each refused multipart request means for the caller: the field to fix and why. */
const CLIENT_MISTAKES: Readonly<Record<string, { field: string; message: string }>> = {
  NoSuchUpload: {
    field: 'upload_id',
    message:
      'upload_id names no multipart upload in progress for this key (completed, aborted or never started)',
  },
  InvalidPart: {
    field: 'parts',
    message: "parts names a part the store does not have, or an etag that is not that part's",
  },
  InvalidPartOrder: { field: 'parts', message: 'parts must be listed in ascending part_number order' },
  EntityTooSmall: {
    field: 'parts',
    message: 'parts are too small: each part but the last must be at least 5 MiB',
  },
  MalformedXML: { field: 'parts', message: 'parts could not be read by the store' },
  InvalidArgument: { field: 'parts', message: 'parts (or another argument) were refused by the store' },
};

/**
 * A store's error code as a message may name it: an identifier as S3, MinIO and GCS write them
 * (`NoSuchUpload`, `XMinioStorageFull`). Anything else (markup, control characters, a 2 KB
 * "code") is the store writing into the broker's answers, and is not repeated.
 */
const NAMEABLE_CODE = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;

/**
 * A store's error answer as the broker's error: refused credentials are 502, the caller's
 * mistakes 400 naming the field to fix (`upload_id` or `parts`, in the message and as `field`),
 * throttling 429, anything else 503. S3 and GCS's XML API share these codes; GCS adds
 * `UserProjectMissing` (a requester-pays bucket, asked without `requester_pays`) and throttles
 * with 429. The store's text never reaches a message, only a code shaped as one.
 */
export function storeError(code: string | undefined, status: number): Error {
  const named = code !== undefined && NAMEABLE_CODE.test(code) ? code : undefined;
  if (named !== undefined && REJECTED.has(named))
    return new CredentialsRejectedError(`the store refused the credentials (${named})`);
  const mistake = named === undefined ? undefined : CLIENT_MISTAKES[named];
  if (mistake !== undefined) return new InvalidRequestError(`${mistake.message} (${named})`, mistake.field);
  if (named === 'UserProjectMissing') {
    return new InvalidRequestError(
      'the bucket is a requester-pays bucket: ask with requester_pays: true (the store answered UserProjectMissing)',
      'requester_pays',
    );
  }
  if (named === 'SlowDown' || status === 503 || status === 429)
    return new ThrottledError('the store throttled the request', { retryAfterSeconds: 1 });
  return new StoreUnavailableError(
    `the store failed the request (${named ?? `HTTP ${status}${code === undefined ? '' : ', with an error code that is not one'}`})`,
  );
}

function errorCode(body: string): string | undefined {
  return xmlText(body, 'Code');
}

function xmlText(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match?.[1] === undefined ? undefined : unescapeXml(match[1]);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function unescapeXml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#34;/g, '"')
    .replace(/&amp;/g, '&');
}
