import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { pipeline } from 'node:stream/promises';
import {
  type DemoStoreCredentials,
  type PayloadClaim,
  type ReceivedRequest,
  SigV4Verifier,
} from './demo-store-auth';
import { type BodyChecks, ObjectFiles, type ObjectMetadata } from './demo-store-files';
import {
  element,
  errorDocument,
  parseCompleteMultipartUpload,
  S3Error,
  xmlDocument,
} from './demo-store-protocol';

export type { DemoStoreCredentials } from './demo-store-auth';

/** How to start the demo store. */
export interface DemoStoreOptions {
  /** Where objects are kept as files; created if missing and kept across runs. */
  directory: string;
  /** An IPv4 loopback address: the store is for one machine and refuses any other. @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** The one key pair every request must be signed with. */
  credentials: DemoStoreCredentials;
  /** The region signatures must be scoped to. @default 'us-east-1' */
  region?: string;
  /** The buckets that exist; S3 naming rules apply. Any other bucket is NoSuchBucket. */
  buckets: readonly string[];
  /** Milliseconds since the epoch, against which request dates are checked. @default Date.now */
  clock?: () => number;
  /** Told of failures that are not S3 answers (a bug, a full disk); the client gets InternalError. */
  onUnexpectedError?: (error: unknown) => void;
}

/** A running demo store. */
export interface DemoStore {
  /** `http://host:port`: the endpoint for a bucket record or an S3 client (path-style). */
  endpoint: string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** S3's limit for a single PUT and for one part. */
const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;
/** A CompleteMultipartUpload naming 10,000 parts stays well under this. */
const MAX_XML_BYTES = 2 * 1024 * 1024;
const MAX_KEY_BYTES = 1024;
const MAX_PART_NUMBER = 10_000;
const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';
const BUCKET_NAME = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Sub-resources and operations of S3 this store does not implement. Unknown query parameters are
 * otherwise ignored, as S3 ignores them (the broker signs audit fields such as `user_id` into its
 * URLs); these are refused so that, say, `GET ?acl` never answers the object instead.
 */
const UNSUPPORTED_SUBRESOURCES = [
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'versionId',
  'versioning',
  'versions',
  'website',
];

/** Headers named like a checksum that carry a setting, not a value. */
const CHECKSUM_SETTINGS = new Set(['x-amz-checksum-algorithm', 'x-amz-checksum-mode', 'x-amz-checksum-type']);

/** Query parameters of GetObject that set headers of the answer. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-content-type': 'content-type',
  'response-expires': 'expires',
};

/**
 * A small S3-compatible store on loopback for `npm start`'s demo bucket, for machines without
 * the MinIO test server. Path-style addressing only (`/bucket/key`). Every request must carry a
 * valid SigV4 signature for the one configured key, presigned or in the Authorization header,
 * so a tampered, expired or mis-keyed URL fails here as it would on S3. It implements the
 * operations presigned URLs and the broker's multipart calls use (object GET, HEAD, PUT,
 * DELETE, ListObjectsV2, HeadBucket and multipart uploads) and answers 501 NotImplemented to the
 * rest. Objects are files under `directory`; bodies are streamed, never held in memory.
 */
export async function startDemoStore(options: DemoStoreOptions): Promise<DemoStore> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host))
    throw new Error(`the demo store binds to loopback only (a 127.x.x.x address), not to ${host}`);
  for (const bucket of options.buckets)
    if (!BUCKET_NAME.test(bucket)) throw new Error(`"${bucket}" is not a valid S3 bucket name`);
  const files = await ObjectFiles.open(options.directory, options.buckets);
  const verifier = new SigV4Verifier(
    options.credentials,
    options.region ?? 'us-east-1',
    options.clock ?? Date.now,
  );

  const server = createServer((request, response) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    response.setHeader('x-amz-request-id', requestId);
    void serve(files, verifier, request, response)
      .catch((error: unknown) => {
        // A client that hung up mid-body is not a failure of the store.
        const clientLeft = !request.complete && request.destroyed;
        if (!(error instanceof S3Error) && !clientLeft) options.onUnexpectedError?.(error);
        answerError(request, response, error, requestId);
      })
      // A body nobody read (a refused upload, a GET with a body) is drained so the client
      // still reads the answer on a connection that stays usable.
      .finally(() => request.resume());
  });
  await new Promise<void>((ready, failed) => {
    server.once('error', failed);
    server.listen(options.port ?? 0, host, ready);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    endpoint: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

async function serve(
  files: ObjectFiles,
  verifier: SigV4Verifier,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const received = receivedRequest(request);
  const payload = await verifier.verify(received);
  const query = new Map<string, string>();
  for (const [name, value] of received.query) if (!query.has(name)) query.set(name, value);
  const { bucket, key } = location(received.rawPath);
  const method = received.method;

  if (bucket === '') throw notImplemented('ListBuckets');
  if (!files.hasBucket(bucket)) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
  const unsupported = UNSUPPORTED_SUBRESOURCES.find((name) => query.has(name));
  if (unsupported !== undefined) throw notImplemented(`?${unsupported}`);

  if (key === '') {
    if (method === 'HEAD') return answer(response, 200);
    if (method === 'GET' && query.get('list-type') === '2')
      return answer(response, 200, xmlHeaders(), await listObjectsV2(files, bucket, query));
    throw notImplemented(`${method} on a bucket`);
  }
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');

  const uploadId = query.get('uploadId');
  switch (method) {
    case 'GET':
      if (uploadId !== undefined || query.has('uploads')) throw notImplemented('listing multipart uploads');
      return getObject(files, bucket, key, request, response, query);
    case 'HEAD': {
      const metadata = await files.head(bucket, key);
      return answer(response, 200, objectHeaders(metadata, metadata.size));
    }
    case 'PUT': {
      const checks = uploadChecks(request, payload);
      if (uploadId !== undefined) {
        const etag = await files.putPart(bucket, key, uploadId, partNumber(query), request, checks);
        return answer(response, 200, { etag });
      }
      if (query.has('partNumber')) throw new S3Error(400, 'InvalidArgument', 'partNumber needs an uploadId');
      const metadata = await files.put(bucket, key, request, contentType(request), checks);
      return answer(response, 200, { etag: metadata.etag });
    }
    case 'POST':
      if (query.has('uploads')) {
        const created = await files.createUpload(bucket, key, contentType(request));
        return answer(
          response,
          200,
          xmlHeaders(),
          xmlDocument(
            'InitiateMultipartUploadResult',
            element('Bucket', bucket) + element('Key', key) + element('UploadId', created),
          ),
        );
      }
      if (uploadId !== undefined) {
        const parts = parseCompleteMultipartUpload(await readXml(request, payload));
        const metadata = await files.completeUpload(bucket, key, uploadId, parts);
        return answer(
          response,
          200,
          xmlHeaders(),
          xmlDocument(
            'CompleteMultipartUploadResult',
            element('Location', `http://${request.headers.host ?? ''}${received.rawPath}`) +
              element('Bucket', bucket) +
              element('Key', key) +
              element('ETag', metadata.etag),
          ),
        );
      }
      throw notImplemented('POST on an object');
    case 'DELETE':
      if (uploadId !== undefined) await files.abortUpload(bucket, key, uploadId);
      else await files.delete(bucket, key);
      return answer(response, 204);
    default:
      throw notImplemented(`${method} on an object`);
  }
}

/** Splits the raw request target as it came, decoding only the query for the verifier's use. */
function receivedRequest(request: IncomingMessage): ReceivedRequest {
  const target = request.url ?? '';
  if (!target.startsWith('/')) throw invalidUri();
  const mark = target.indexOf('?');
  const query = (mark < 0 ? '' : target.slice(mark + 1))
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const equals = pair.indexOf('=');
      // A literal `+` stays a `+`: SigV4 clients encode spaces as %20.
      return equals < 0
        ? ([decode(pair), ''] as const)
        : ([decode(pair.slice(0, equals)), decode(pair.slice(equals + 1))] as const);
    });
  const headers = new Map<string, string>();
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
    const name = (request.rawHeaders[index] ?? '').toLowerCase();
    const value = request.rawHeaders[index + 1] ?? '';
    const earlier = headers.get(name);
    headers.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  return {
    method: request.method ?? 'GET',
    rawPath: mark < 0 ? target : target.slice(0, mark),
    query,
    headers,
  };
}

/** `/bucket/key…`: the first segment names the bucket, everything after its slash is the key. */
function location(rawPath: string): { bucket: string; key: string } {
  const path = rawPath.slice(1);
  const slash = path.indexOf('/');
  return slash < 0
    ? { bucket: decode(path), key: '' }
    : { bucket: decode(path.slice(0, slash)), key: decode(path.slice(slash + 1)) };
}

async function getObject(
  files: ObjectFiles,
  bucket: string,
  key: string,
  request: IncomingMessage,
  response: ServerResponse,
  query: ReadonlyMap<string, string>,
): Promise<void> {
  const { metadata, handle } = await files.read(bucket, key);
  let range: { start: number; end: number } | undefined;
  try {
    range = byteRange(request.headers.range, metadata.size);
  } catch (error) {
    await handle.close();
    throw error;
  }
  const headers = objectHeaders(metadata, range === undefined ? metadata.size : range.end - range.start + 1);
  for (const [parameter, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = query.get(parameter);
    if (value !== undefined) headers[header] = value;
  }
  if (range !== undefined) headers['content-range'] = `bytes ${range.start}-${range.end}/${metadata.size}`;
  response.writeHead(range === undefined ? 200 : 206, headers);
  // The stream closes the handle when it ends or is destroyed.
  await pipeline(handle.createReadStream(range ?? {}), response);
}

/**
 * One `bytes=` range, as S3 serves it. A header this store cannot parse, or several ranges, is
 * ignored and the whole object sent, which HTTP allows; a range past the end is 416.
 */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  const unsatisfiable = () => new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable');
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return undefined;
  if (start >= size) throw unsatisfiable();
  return { start, end };
}

async function listObjectsV2(
  files: ObjectFiles,
  bucket: string,
  query: ReadonlyMap<string, string>,
): Promise<string> {
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const maxKeysText = query.get('max-keys') ?? '1000';
  if (!/^\d{1,9}$/.test(maxKeysText))
    throw new S3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
  // S3 never answers more than 1,000 keys at once, whatever the client asks.
  const maxKeys = Math.min(Number(maxKeysText), 1000);
  const encodingType = query.get('encoding-type');
  if (encodingType !== undefined && encodingType !== 'url')
    throw new S3Error(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request');
  const token = query.get('continuation-token');
  let after = query.get('start-after') ?? '';
  if (token !== undefined) {
    after = Buffer.from(token, 'base64url').toString('utf8');
    if (token === '' || Buffer.from(after, 'utf8').toString('base64url') !== token)
      throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
  }

  // Keys under a delimiter fold into one common prefix, which counts as one entry, as in S3.
  const entries = new Map<string, ObjectMetadata | undefined>();
  for (const object of await files.list(bucket)) {
    if (!object.key.startsWith(prefix)) continue;
    const cut = delimiter === '' ? -1 : object.key.indexOf(delimiter, prefix.length);
    if (cut < 0) entries.set(object.key, object);
    else if (!entries.has(object.key.slice(0, cut + delimiter.length)))
      entries.set(object.key.slice(0, cut + delimiter.length), undefined);
  }
  // S3 lists in UTF-8 byte order, which differs from JavaScript's UTF-16 order beyond the BMP.
  const afterBytes = Buffer.from(after, 'utf8');
  const sorted = [...entries]
    .map(([name, object]) => ({ name, bytes: Buffer.from(name, 'utf8'), object }))
    .filter((entry) => Buffer.compare(entry.bytes, afterBytes) > 0)
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  const page = sorted.slice(0, maxKeys);
  const truncated = maxKeys > 0 && sorted.length > maxKeys;
  const encode = (text: string) =>
    encodingType === 'url' ? encodeURIComponent(text).replace(/%2F/g, '/') : text;

  let body = element('Name', bucket) + element('Prefix', encode(prefix));
  if (delimiter !== '') body += element('Delimiter', encode(delimiter));
  body += element('MaxKeys', maxKeys) + element('KeyCount', page.length) + element('IsTruncated', truncated);
  if (token !== undefined) body += element('ContinuationToken', token);
  if (truncated) {
    const last = page[page.length - 1]?.name ?? '';
    body += element('NextContinuationToken', Buffer.from(last, 'utf8').toString('base64url'));
  }
  if (query.has('start-after')) body += element('StartAfter', encode(query.get('start-after') ?? ''));
  if (encodingType !== undefined) body += element('EncodingType', encodingType);
  for (const { name, object } of page) {
    body +=
      object === undefined
        ? `<CommonPrefixes>${element('Prefix', encode(name))}</CommonPrefixes>`
        : `<Contents>${element('Key', encode(name))}${element('LastModified', object.lastModified)}${element(
            'ETag',
            object.etag,
          )}${element('Size', object.size)}${element('StorageClass', 'STANDARD')}</Contents>`;
  }
  return xmlDocument('ListBucketResult', body);
}

/** What an upload's body must satisfy, refusing upfront what S3 refuses before reading it. */
function uploadChecks(request: IncomingMessage, payload: PayloadClaim): BodyChecks {
  if (request.headers['x-amz-copy-source'] !== undefined) throw notImplemented('CopyObject');
  // Ignoring a condition would overwrite what the client asked to keep.
  if (request.headers['if-match'] !== undefined || request.headers['if-none-match'] !== undefined)
    throw notImplemented('conditional writes');
  const length = request.headers['content-length'];
  if (length === undefined)
    throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  if (Number(length) > MAX_UPLOAD_BYTES)
    throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
  const checks: BodyChecks = {};
  if (payload.sha256 !== undefined) checks.sha256 = payload.sha256;
  const checksum = requestChecksum(request);
  if (checksum !== undefined) checks.checksum = checksum;
  const contentMd5 = request.headers['content-md5'];
  if (typeof contentMd5 === 'string') {
    const md5 = Buffer.from(contentMd5, 'base64');
    if (md5.length !== 16 || md5.toString('base64') !== contentMd5)
      throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
    checks.md5 = md5;
  }
  return checks;
}

/**
 * The `x-amz-checksum-*` header sent with an upload, which S3 checks against the body. The same
 * names in a presigned URL's query are ignored, as S3 and MinIO ignore them: since SDK 3.729 a
 * presigned PutObject carries the CRC32 of the empty body it was signed with, and S3 stores the
 * real body all the same (a test holds this store to MinIO's answer).
 */
function requestChecksum(request: IncomingMessage): BodyChecks['checksum'] {
  const sent = Object.entries(request.headers).filter(
    ([name]) => name.startsWith('x-amz-checksum-') && !CHECKSUM_SETTINGS.has(name),
  );
  if (sent.length === 0) return undefined;
  if (sent.length > 1) {
    throw new S3Error(
      400,
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  }
  const [name, value] = sent[0] ?? ['', ''];
  const algorithm = name.slice('x-amz-checksum-'.length);
  if (algorithm !== 'crc32' && algorithm !== 'sha1' && algorithm !== 'sha256')
    throw notImplemented(`the ${algorithm} checksum`);
  const base64 = String(value);
  const digest = Buffer.from(base64, 'base64');
  if (digest.length !== { crc32: 4, sha1: 20, sha256: 32 }[algorithm] || digest.toString('base64') !== base64)
    throw new S3Error(400, 'InvalidRequest', `Value for ${name} header is invalid.`);
  return { algorithm, base64 };
}

function partNumber(query: ReadonlyMap<string, string>): number {
  const text = query.get('partNumber') ?? '';
  const number = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  if (number < 1 || number > MAX_PART_NUMBER) {
    throw new S3Error(
      400,
      'InvalidArgument',
      `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
    );
  }
  return number;
}

/** A small XML body, bounded, its SHA-256 checked when the client signed one. */
async function readXml(request: IncomingMessage, payload: PayloadClaim): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_XML_BYTES) throw new S3Error(400, 'MaxMessageLengthExceeded', 'Your request was too big.');
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  if (payload.sha256 !== undefined) {
    if (createHash('sha256').update(body).digest('hex') !== payload.sha256) {
      throw new S3Error(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
  }
  return body.toString('utf8');
}

function objectHeaders(metadata: ObjectMetadata, length: number): Record<string, string> {
  return {
    'content-type': metadata.contentType,
    'content-length': String(length),
    etag: metadata.etag,
    'last-modified': new Date(metadata.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
  };
}

function contentType(request: IncomingMessage): string {
  return request.headers['content-type'] ?? DEFAULT_CONTENT_TYPE;
}

function xmlHeaders(): Record<string, string> {
  return { 'content-type': 'application/xml' };
}

function answer(
  response: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
  body?: string,
): void {
  // HEAD answers carry the object's length but no body.
  if (body !== undefined || headers['content-length'] === undefined)
    headers['content-length'] = String(body === undefined ? 0 : Buffer.byteLength(body));
  response.writeHead(status, headers);
  response.end(body);
}

function answerError(
  request: IncomingMessage,
  response: ServerResponse,
  error: unknown,
  requestId: string,
): void {
  // Past the headers (a GET whose file failed mid-stream) the only honest signal is a cut connection.
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const s3Error =
    error instanceof S3Error
      ? error
      : new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
  const resource = (request.url ?? '').split('?')[0] ?? '';
  // S3 answers HEAD errors with the status alone.
  if (request.method === 'HEAD') answer(response, s3Error.status);
  else answer(response, s3Error.status, xmlHeaders(), errorDocument(s3Error, resource, requestId));
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalidUri();
  }
}

function invalidUri(): S3Error {
  return new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
}

function notImplemented(what: string): S3Error {
  return new S3Error(501, 'NotImplemented', `The demo store does not implement ${what}`);
}

/** An IPv4 loopback literal: a name such as `localhost` may resolve elsewhere, or to IPv6 on one machine and not another. */
function isLoopback(host: string): boolean {
  return isIP(host) === 4 && host.startsWith('127.');
}
