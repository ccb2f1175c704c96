import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  CredentialsRejectedError,
  InvalidRequestError,
  StoreUnavailableError,
  ThrottledError,
} from '../errors';
import type { ObjectLocation } from './object-location';
import type { SigningCredentials } from './sigv4-presigner';

export interface StoreAccess {
  credentials: SigningCredentials;
  caBundlePem?: string;
  requesterPays?: boolean;
}

interface StoreAnswer {
  status: number;
  body: string;
}

/**
 * The three multipart calls that cannot be presigned for the client: create, complete and abort.
 * Requests are signed with the SDK's `SignatureV4` and sent over `node:https`, which honours a
 * store's private CA bundle.
 */
export class S3MultipartClient {
  constructor(private readonly timeoutMs = 10_000) {}

  async initiate(location: ObjectLocation, access: StoreAccess, contentType?: string): Promise<string> {
    const answer = await this.send(location, access, 'POST', { uploads: '' }, '', contentType);
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
  ): Promise<string> {
    const body = `<CompleteMultipartUpload>${parts
      .map(
        (part) =>
          `<Part><PartNumber>${part.part_number}</PartNumber><ETag>${escapeXml(part.etag)}</ETag></Part>`,
      )
      .join('')}</CompleteMultipartUpload>`;
    const answer = await this.send(location, access, 'POST', { uploadId }, body, 'application/xml');
    // S3 may answer 200 and still report an error in the body.
    if (answer.body.includes('<Error>')) throw storeError(errorCode(answer.body), 500);
    const etag = xmlText(answer.body, 'ETag');
    if (etag === undefined)
      throw new StoreUnavailableError('the store answered CompleteMultipartUpload without an ETag');
    return etag;
  }

  async abort(location: ObjectLocation, access: StoreAccess, uploadId: string): Promise<void> {
    await this.send(location, access, 'DELETE', { uploadId }, '');
  }

  private async send(
    location: ObjectLocation,
    access: StoreAccess,
    method: string,
    query: Record<string, string>,
    body: string,
    contentType?: string,
  ): Promise<StoreAnswer> {
    const [hostname = location.host, port] = location.host.split(':');
    const headers: Record<string, string> = {
      host: location.host,
      'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
      'content-length': String(Buffer.byteLength(body)),
    };
    if (contentType !== undefined) headers['content-type'] = contentType;
    if (access.requesterPays) headers['x-amz-request-payer'] = 'requester';
    const signer = new SignatureV4({
      service: 's3',
      region: location.region,
      credentials: access.credentials,
      sha256: Sha256,
      uriEscapePath: false,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method,
        protocol: location.protocol,
        hostname,
        port: port ? Number(port) : undefined,
        path: location.path,
        query,
        headers,
        body,
      }),
    );
    const search = new URLSearchParams(query).toString().replace(/=(&|$)/g, '$1');
    const answer = await this.exchange(
      `${location.protocol}//${location.host}${location.path}?${search}`,
      method,
      signed.headers,
      body,
      access.caBundlePem,
    );
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw storeError(errorCode(answer.body), answer.status);
  }

  private exchange(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string,
    ca: string | undefined,
  ): Promise<StoreAnswer> {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const outgoing = send(
        url,
        { method, headers, timeout: this.timeoutMs, ...(ca === undefined ? {} : { ca }) },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () =>
            resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          incoming.on('error', reject);
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
      outgoing.on('error', (error) =>
        reject(
          new StoreUnavailableError(`the store at ${new URL(url).host} could not be reached`, {
            cause: error,
          }),
        ),
      );
      outgoing.end(body);
    });
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
