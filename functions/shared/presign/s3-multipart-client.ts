import {
  CredentialsRejectedError,
  InvalidRequestError,
  StoreUnavailableError,
  ThrottledError,
} from '../errors';
import { ExchangeTimeoutError, exchange, type HttpAnswer } from '../http/http-exchange';
import type { ObjectLocation } from './object-location';
import { type SigningCredentials, SigV4Presigner } from './sigv4-presigner';

export interface StoreAccess {
  credentials: SigningCredentials;
  caBundlePem?: string;
  requesterPays?: boolean;
}

/** Per-call limits on top of the client's own budget. */
export interface StoreCallOptions {
  /** Epoch milliseconds the call must be over by (the request's deadline). */
  deadline?: number;
}

/**
 * The three multipart calls that cannot be presigned for the client: create, complete and abort.
 * Requests are signed with the broker's SigV4 signer and sent over `node:https`, which honours a
 * store's private CA bundle. Each call takes at most `budgetMs` (and never runs past the
 * caller's deadline): a store that does not answer in time is 503 `store_unavailable` with
 * Retry-After, answered while the function still can.
 */
export class S3MultipartClient {
  private readonly signer = new SigV4Presigner();

  /** @param budgetMs the most one call may take. */
  constructor(private readonly budgetMs = 3000) {}

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
    if (access.requesterPays) headers['x-amz-request-payer'] = 'requester';
    const signed = this.signer.signHeaders(access.credentials, {
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
    const url = `${location.protocol}//${location.host}${location.path}?${search}`;
    const timeoutMs = Math.min(this.budgetMs, (options.deadline ?? Number.POSITIVE_INFINITY) - Date.now());
    const answer = await exchange(url, {
      method,
      headers: signed,
      body,
      timeoutMs,
      ...(access.caBundlePem === undefined ? {} : { ca: access.caBundlePem }),
    }).catch((error: unknown) => {
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
const CLIENT_MISTAKES = new Set([
  'NoSuchUpload',
  'InvalidPart',
  'InvalidPartOrder',
  'EntityTooSmall',
  'MalformedXML',
  'InvalidArgument',
]);

function storeError(code: string | undefined, status: number): Error {
  if (code !== undefined && REJECTED.has(code))
    return new CredentialsRejectedError(`the store refused the credentials (${code})`);
  if (code !== undefined && CLIENT_MISTAKES.has(code)) {
    return new InvalidRequestError(
      `the store refused the multipart request (${code})`,
      code === 'NoSuchUpload' ? 'upload_id' : 'parts',
    );
  }
  if (code === 'SlowDown' || status === 503)
    return new ThrottledError('the store throttled the request', { retryAfterSeconds: 1 });
  return new StoreUnavailableError(`the store failed the request (${code ?? `HTTP ${status}`})`);
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
