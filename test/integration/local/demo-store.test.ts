import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import fc from 'fast-check';
import {
  type DemoStore,
  type DemoStoreCredentials,
  startDemoStore,
} from '../../../functions/local/demo-store';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import {
  encodeS3Path,
  type SigningCredentials,
  SigV4Presigner,
} from '../../../functions/shared/signing/sigv4-presigner';
import { readEndpoints } from '../services/endpoints';
import { minioRootClient } from '../support/aws';

const BUCKET = 'demo-bucket';
const REGION = 'us-east-1';
const CREDENTIALS: DemoStoreCredentials = {
  accessKeyId: 'DEMOSTOREKEY',
  secretAccessKey: 'demo-store-secret-0123456789abcdefghij',
};
const MiB = 1024 * 1024;

/** The S3 error code of an XML error answer. */
const errorCode = (body: string) => /<Code>([^<]*)<\/Code>/.exec(body)?.[1];

/** An S3 client on the store; no retries, so an error is the store's first answer. */
function s3Client(endpoint: string, credentials: SigningCredentials = CREDENTIALS): S3Client {
  return new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    // Presigned PUTs must not carry a checksum of the (absent) body: see the BadDigest test.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

/** What the SDK throws, as status and S3 code. */
async function sdkFailure(promise: Promise<unknown>): Promise<{ status?: number; code: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException)
      return { status: error.$metadata.httpStatusCode, code: error.name };
    throw error;
  }
  throw new Error('the request succeeded');
}

interface PresignOptions {
  credentials?: SigningCredentials;
  expiresIn?: number;
  now?: Date;
  contentType?: string;
}

/** One way to presign a URL for the store: the AWS SDK's presigner or the broker's own. */
interface UrlSigner {
  name: string;
  presign(endpoint: string, method: 'GET' | 'PUT', key: string, options?: PresignOptions): Promise<string>;
}

const sdkSigner: UrlSigner = {
  name: '@aws-sdk/s3-request-presigner',
  presign: (endpoint, method, key, options = {}) => {
    const client = s3Client(endpoint, options.credentials);
    const command =
      method === 'GET'
        ? new GetObjectCommand({ Bucket: BUCKET, Key: key })
        : new PutObjectCommand({ Bucket: BUCKET, Key: key, ContentType: options.contentType });
    return getSignedUrl(client, command, {
      expiresIn: options.expiresIn ?? 3600,
      signingDate: options.now ?? new Date(),
      // The SDK leaves content-type unsigned unless told; Fence's uploads sign it.
      ...(options.contentType === undefined ? {} : { signableHeaders: new Set(['content-type']) }),
    });
  },
};

const brokerPresigner = new SigV4Presigner();
const brokerSigner: UrlSigner = {
  name: 'SigV4Presigner (the broker)',
  presign: async (endpoint, method, key, options = {}) =>
    brokerPresigner.presign(options.credentials ?? CREDENTIALS, {
      method,
      protocol: 'http:',
      host: new URL(endpoint).host,
      path: `/${BUCKET}/${encodeS3Path(key)}`,
      region: REGION,
      // As PresignService signs them: audit fields in the query, content-type as a header.
      query: { user_id: 'fuzz user+1', client_id: 'fence' },
      headers: options.contentType === undefined ? {} : { 'content-type': options.contentType },
      expiresIn: options.expiresIn ?? 3600,
      now: options.now ?? new Date(),
    }),
};

/** Sends a request exactly as given (no URL normalization, unlike fetch), signed in its headers. */
function signedRawRequest(
  endpoint: string,
  method: string,
  path: string,
  options: {
    body?: Buffer;
    headers?: Record<string, string>;
    now?: Date;
    payloadHash?: string;
    query?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(endpoint);
  const body = options.body ?? Buffer.alloc(0);
  const headers = brokerPresigner.signHeaders(CREDENTIALS, {
    method,
    host: url.host,
    path,
    query: options.query ?? {},
    headers: { 'content-length': String(body.length), ...options.headers },
    payloadHash: options.payloadHash ?? createHash('sha256').update(body).digest('hex'),
    region: REGION,
    now: options.now ?? new Date(),
  });
  const search = new URLSearchParams(options.query ?? {}).toString();
  return rawRequest(url, method, search === '' ? path : `${path}?${search}`, headers, body);
}

function rawRequest(
  url: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer = Buffer.alloc(0),
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

/** Every file under a directory, relative to it. */
function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)));
}

describe('Function: startDemoStore', () => {
  let root: string;
  let store: DemoStore;
  let s3: S3Client;

  beforeAll(async () => {
    // The store lives one level down, so a write that escaped its directory would land in root.
    root = mkdtempSync(join(tmpdir(), 'fbb-demo-store-'));
    store = await startDemoStore({
      directory: join(root, 'store'),
      credentials: CREDENTIALS,
      buckets: [BUCKET],
    });
    s3 = s3Client(store.endpoint);
  });
  afterAll(async () => {
    s3.destroy();
    await store.close();
    // The multipart tests leave tens of MiB behind.
    rmSync(root, { recursive: true, force: true });
  });

  describe('with the AWS SDK (Authorization header signatures)', () => {
    it('round-trips PutObject, GetObject, HeadObject, ListObjectsV2 and DeleteObject', async () => {
      // Prepare
      const key = `sdk/${randomBytes(4).toString('hex')}/report é+.json`;
      const body = Buffer.from('{"rows": 3}');

      // Act
      const put = await s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'application/json' }),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const bytes = Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array()));
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key.slice(0, 13) }));
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      const deleteAgain = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      const afterDelete = await sdkFailure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })));

      // Assess
      const md5 = createHash('md5').update(body).digest('hex');
      expect(put.ETag).toBe(`"${md5}"`);
      expect(bytes).toEqual(body);
      expect(got.ContentType).toBe('application/json');
      expect(head).toMatchObject({
        ContentLength: body.length,
        ETag: `"${md5}"`,
        ContentType: 'application/json',
      });
      expect(listed.Contents?.map((object) => [object.Key, object.Size, object.ETag])).toEqual([
        [key, body.length, `"${md5}"`],
      ]);
      expect(afterDelete.status).toBe(404);
      expect(deleteAgain.$metadata.httpStatusCode).toBe(204);
    });

    it('serves byte ranges and the response-* overrides of GetObject', async () => {
      // Prepare
      const key = `range/${randomBytes(4).toString('hex')}`;
      await s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '0123456789', ContentType: 'text/plain' }),
      );
      const get = (Range: string) => s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range }));
      const url = await getSignedUrl(
        s3,
        new GetObjectCommand({
          Bucket: BUCKET,
          Key: key,
          ResponseContentDisposition: 'attachment; filename="digits.txt"',
          ResponseContentType: 'application/x-digits',
        }),
      );

      // Act
      const middle = await get('bytes=2-5');
      const suffix = await get('bytes=-3');
      const open = await get('bytes=7-');
      const beyond = await sdkFailure(get('bytes=10-'));
      const overridden = await fetch(url);

      // Assess
      expect([middle.ContentRange, await middle.Body?.transformToString()]).toEqual(['bytes 2-5/10', '2345']);
      expect(middle.$metadata.httpStatusCode).toBe(206);
      expect([suffix.ContentRange, await suffix.Body?.transformToString()]).toEqual(['bytes 7-9/10', '789']);
      expect([open.ContentRange, await open.Body?.transformToString()]).toEqual(['bytes 7-9/10', '789']);
      expect(beyond).toEqual({ status: 416, code: 'InvalidRange' });
      expect(overridden.headers.get('content-disposition')).toBe('attachment; filename="digits.txt"');
      expect(overridden.headers.get('content-type')).toBe('application/x-digits');
      expect(await overridden.text()).toBe('0123456789');
    });

    it('keeps one whole object and no orphaned bytes when PUTs of one key race', async () => {
      // Prepare
      const key = `race/${randomBytes(4).toString('hex')}`;
      const bodies = Array.from({ length: 12 }, (_, index) => Buffer.alloc(64 * 1024, index));
      const dataFiles = () => readdirSync(join(root, 'store/buckets', BUCKET, 'data')).length;
      const before = dataFiles();

      // Act
      await Promise.all(
        bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body }))),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const bytes = Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array()));

      // Assess
      expect(bodies.some((body) => body.equals(bytes))).toBe(true);
      expect(got.ETag).toBe(`"${createHash('md5').update(bytes).digest('hex')}"`);
      expect(dataFiles()).toBe(before + 1);
    });

    it('lists with prefix, delimiter and max-keys, page after page in UTF-8 byte order', async () => {
      // Prepare: U+FF5E sorts before U+1F600 in UTF-8 but after it in UTF-16.
      const prefix = `list-${randomBytes(4).toString('hex')}/`;
      const keys = ['a', 'b/1', 'b/2', 'c', '\u{1F600}', '\uFF5E'].map((name) => `${prefix}${name}`);
      for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));

      // Act
      const pages: string[][] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, MaxKeys: 2, ContinuationToken: token }),
        );
        pages.push((page.Contents ?? []).map((object) => object.Key ?? ''));
        token = page.NextContinuationToken;
      } while (token !== undefined);
      const grouped = await s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, Delimiter: '/' }),
      );
      const encoded = await s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}\u{1F600}`, EncodingType: 'url' }),
      );

      // Assess
      expect(pages).toEqual([
        [keys[0], keys[1]],
        [keys[2], keys[3]],
        [keys[5], keys[4]],
      ]);
      expect(grouped.Contents?.map((object) => object.Key)).toEqual([keys[0], keys[3], keys[5], keys[4]]);
      expect(grouped.CommonPrefixes?.map((common) => common.Prefix)).toEqual([`${prefix}b/`]);
      expect(grouped.KeyCount).toBe(5);
      expect(encoded.Contents?.map((object) => object.Key)).toEqual([`${prefix}%F0%9F%98%80`]);
    });

    it('completes a 3 × 5 MiB multipart upload into the same bytes, with the S3 multipart ETag', async () => {
      // Prepare
      const key = `multipart/${randomBytes(4).toString('hex')}.bin`;
      const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(5 * MiB)];
      const created = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'application/x-demo' }),
      );

      // Act
      const etags: string[] = [];
      for (const [index, part] of parts.entries()) {
        const uploaded = await s3.send(
          new UploadPartCommand({
            Bucket: BUCKET,
            Key: key,
            UploadId: created.UploadId,
            PartNumber: index + 1,
            Body: part,
          }),
        );
        etags.push(uploaded.ETag ?? '');
      }
      const completed = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: created.UploadId,
          MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
        }),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const bytes = Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array()));
      const uploadGone = await sdkFailure(
        s3.send(
          new UploadPartCommand({
            Bucket: BUCKET,
            Key: key,
            UploadId: created.UploadId,
            PartNumber: 4,
            Body: 'x',
          }),
        ),
      );

      // Assess
      const md5s = parts.map((part) => createHash('md5').update(part).digest());
      expect(etags).toEqual(md5s.map((md5) => `"${md5.toString('hex')}"`));
      expect(completed.ETag).toBe(`"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-3"`);
      expect(bytes.equals(Buffer.concat(parts))).toBe(true);
      expect(got.ContentType).toBe('application/x-demo');
      expect(uploadGone).toEqual({ status: 404, code: 'NoSuchUpload' });
    }, 120_000);

    it('refuses to complete parts out of order, with a wrong ETag, or under 5 MiB before the last', async () => {
      // Prepare: part 1 is 1 MiB, part 2 is 5 MiB.
      const key = `multipart/${randomBytes(4).toString('hex')}.bin`;
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      const small = await s3.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: randomBytes(MiB) }),
      );
      const large = await s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId,
          PartNumber: 2,
          Body: randomBytes(5 * MiB),
        }),
      );
      const complete = (Parts: { ETag?: string; PartNumber: number }[]) =>
        sdkFailure(
          s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: BUCKET,
              Key: key,
              UploadId,
              MultipartUpload: { Parts },
            }),
          ),
        );

      // Act
      const outOfOrder = await complete([
        { ETag: large.ETag, PartNumber: 2 },
        { ETag: small.ETag, PartNumber: 1 },
      ]);
      const wrongEtag = await complete([{ ETag: '"00000000000000000000000000000000"', PartNumber: 1 }]);
      const missingPart = await complete([{ ETag: large.ETag, PartNumber: 3 }]);
      const tooSmall = await complete([
        { ETag: small.ETag, PartNumber: 1 },
        { ETag: large.ETag, PartNumber: 2 },
      ]);
      const badPartNumber = await signedRawRequest(store.endpoint, 'PUT', `/${BUCKET}/${key}`, {
        query: { partNumber: '10001', uploadId: UploadId ?? '' },
        body: Buffer.from('x'),
      });
      const nothingStored = await sdkFailure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })));
      // The last part may be small: part 2 alone, then part 1 alone, complete.
      const lastSmall = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [{ ETag: small.ETag, PartNumber: 1 }] },
        }),
      );

      // Assess
      expect(outOfOrder).toEqual({ status: 400, code: 'InvalidPartOrder' });
      expect(wrongEtag).toEqual({ status: 400, code: 'InvalidPart' });
      expect(missingPart).toEqual({ status: 400, code: 'InvalidPart' });
      expect(tooSmall).toEqual({ status: 400, code: 'EntityTooSmall' });
      expect([badPartNumber.status, errorCode(badPartNumber.body)]).toEqual([400, 'InvalidArgument']);
      expect(nothingStored.status).toBe(404);
      expect(lastSmall.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    }, 60_000);

    it('aborts a multipart upload: its parts are gone and the upload id is NoSuchUpload', async () => {
      // Prepare
      const key = `multipart/${randomBytes(4).toString('hex')}.bin`;
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      await s3.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: 'part' }),
      );
      const uploadsBefore = readdirSync(join(root, 'store/buckets', BUCKET, 'uploads'));

      // Act
      await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));
      const again = await sdkFailure(
        s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId })),
      );
      const complete = await sdkFailure(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: BUCKET,
            Key: key,
            UploadId,
            MultipartUpload: { Parts: [{ ETag: 'x', PartNumber: 1 }] },
          }),
        ),
      );

      // Assess
      expect(uploadsBefore).toContain(UploadId);
      expect(readdirSync(join(root, 'store/buckets', BUCKET, 'uploads'))).not.toContain(UploadId);
      expect(again).toEqual({ status: 404, code: 'NoSuchUpload' });
      expect(complete).toEqual({ status: 404, code: 'NoSuchUpload' });
    });

    it('answers NoSuchBucket, NoSuchKey and NotImplemented as S3 XML errors', async () => {
      // Act
      const noBucket = await sdkFailure(s3.send(new GetObjectCommand({ Bucket: 'other-bucket', Key: 'k' })));
      const noKey = await sdkFailure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'never/put' })));
      const acl = await signedRawRequest(store.endpoint, 'GET', `/${BUCKET}/k`, { query: { acl: '' } });
      const listBuckets = await signedRawRequest(store.endpoint, 'GET', '/');
      const copy = await signedRawRequest(store.endpoint, 'PUT', `/${BUCKET}/k`, {
        headers: { 'x-amz-copy-source': `/${BUCKET}/other` },
      });
      const conditional = await signedRawRequest(store.endpoint, 'PUT', `/${BUCKET}/k`, {
        headers: { 'if-none-match': '*' },
        body: Buffer.from('x'),
      });

      // Assess
      expect(noBucket).toEqual({ status: 404, code: 'NoSuchBucket' });
      expect(noKey).toEqual({ status: 404, code: 'NoSuchKey' });
      expect([acl.status, errorCode(acl.body)]).toEqual([501, 'NotImplemented']);
      expect([listBuckets.status, errorCode(listBuckets.body)]).toEqual([501, 'NotImplemented']);
      expect([copy.status, errorCode(copy.body)]).toEqual([501, 'NotImplemented']);
      expect([conditional.status, errorCode(conditional.body)]).toEqual([501, 'NotImplemented']);
    });

    it('refuses a PUT without Content-Length (411 MissingContentLength), as S3 does', async () => {
      // Prepare: a streamed body goes out chunked, with no length.
      const key = `chunked/${randomBytes(4).toString('hex')}`;
      const url = await brokerSigner.presign(store.endpoint, 'PUT', key);
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('streamed'));
          controller.close();
        },
      });

      // Act
      const answer = await fetch(url, { method: 'PUT', body, duplex: 'half' } as RequestInit);

      // Assess
      expect([answer.status, errorCode(await answer.text())]).toEqual([411, 'MissingContentLength']);
    });

    it('refuses a body that does not match its signed x-amz-content-sha256 and keeps nothing', async () => {
      // Prepare
      const key = `sha/${randomBytes(4).toString('hex')}`;

      // Act
      const answer = await signedRawRequest(store.endpoint, 'PUT', `/${BUCKET}/${key}`, {
        body: Buffer.from('what was sent'),
        payloadHash: createHash('sha256').update('what was signed').digest('hex'),
      });
      const head = await sdkFailure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })));

      // Assess
      expect([answer.status, errorCode(answer.body)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
      expect(head.status).toBe(404);
    });

    it('answers 403 to an SDK client with a wrong secret (SignatureDoesNotMatch) or an unknown key (InvalidAccessKeyId)', async () => {
      // Prepare
      const wrongSecret = s3Client(store.endpoint, { ...CREDENTIALS, secretAccessKey: 'not-the-secret' });
      const unknownKey = s3Client(store.endpoint, { ...CREDENTIALS, accessKeyId: 'SOMEONEELSE' });
      const key = `sdk/${randomBytes(4).toString('hex')}`;

      // Act
      const put = await sdkFailure(
        wrongSecret.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' })),
      );
      const list = await sdkFailure(unknownKey.send(new ListObjectsV2Command({ Bucket: BUCKET })));
      const stored = await sdkFailure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })));

      // Assess
      expect(put).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
      expect(list).toEqual({ status: 403, code: 'InvalidAccessKeyId' });
      expect(stored.status).toBe(404);
    });

    it('answers 403 SignatureDoesNotMatch when a signed header is changed after signing', async () => {
      // Prepare
      const url = new URL(store.endpoint);
      const key = `sdk/${randomBytes(4).toString('hex')}`;
      const headers = brokerPresigner.signHeaders(CREDENTIALS, {
        method: 'PUT',
        host: url.host,
        path: `/${BUCKET}/${key}`,
        headers: { 'content-type': 'text/plain', 'content-length': '1' },
        body: 'x',
        region: REGION,
        now: new Date(),
      });

      // Act
      const changed = await rawRequest(
        url,
        'PUT',
        `/${BUCKET}/${key}`,
        { ...headers, 'content-type': 'text/html' },
        Buffer.from('x'),
      );
      const unchanged = await rawRequest(url, 'PUT', `/${BUCKET}/${key}`, headers, Buffer.from('x'));

      // Assess
      expect([changed.status, errorCode(changed.body)]).toEqual([403, 'SignatureDoesNotMatch']);
      expect(unchanged.status).toBe(200);
    });

    it('refuses unsigned requests (403 AccessDenied) and malformed signatures (400)', async () => {
      // Prepare
      const url = new URL(store.endpoint);

      // Act
      const anonymous = await fetch(`${store.endpoint}/${BUCKET}/k`);
      const badDate = await fetch(
        `${store.endpoint}/${BUCKET}/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${CREDENTIALS.accessKeyId}%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=yesterday&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00`,
      );
      const badHeader = await rawRequest(url, 'GET', `/${BUCKET}/k`, {
        authorization: 'AWS4-HMAC-SHA256 nonsense',
      });
      const badEncoding = await rawRequest(url, 'GET', `/${BUCKET}/k?prefix=%E0%A4%A`, {});

      // Assess
      expect([anonymous.status, errorCode(await anonymous.text())]).toEqual([403, 'AccessDenied']);
      expect([badDate.status, errorCode(await badDate.text())]).toEqual([
        400,
        'AuthorizationQueryParametersError',
      ]);
      expect([badHeader.status, errorCode(badHeader.body)]).toEqual([400, 'AuthorizationHeaderMalformed']);
      expect([badEncoding.status, errorCode(badEncoding.body)]).toEqual([400, 'InvalidURI']);
    });
  });

  describe.each([sdkSigner, brokerSigner])('presigned URLs from $name, fetched with fetch', (signer) => {
    it('answers 200 to a presigned PUT and to a presigned GET of the same bytes', async () => {
      // Prepare
      const key = `presigned/${randomBytes(4).toString('hex')}/a file.txt`;
      const putUrl = await signer.presign(store.endpoint, 'PUT', key, { contentType: 'text/plain' });
      const getUrl = await signer.presign(store.endpoint, 'GET', key);

      // Act
      const put = await fetch(putUrl, {
        method: 'PUT',
        body: 'uploaded',
        headers: { 'content-type': 'text/plain' },
      });
      const get = await fetch(getUrl);

      // Assess
      expect(put.status).toBe(200);
      expect(put.headers.get('etag')).toBe(`"${createHash('md5').update('uploaded').digest('hex')}"`);
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe('text/plain');
      expect(await get.text()).toBe('uploaded');
    });

    it('answers 403 SignatureDoesNotMatch to a tampered path, query or signature', async () => {
      // Prepare
      const key = `presigned/${randomBytes(4).toString('hex')}.txt`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'secret' }));
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${key}.other`, Body: 'other' }));
      const url = await signer.presign(store.endpoint, 'GET', key);
      const signature = /X-Amz-Signature=([0-9a-f]{64})/.exec(url)?.[1] ?? '';
      const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
      const tampered = {
        path: url.replace(`${key}?`, `${key}.other?`),
        query: url.replace('X-Amz-Expires=3600', 'X-Amz-Expires=3601'),
        addedQuery: `${url}&versionId2=1`,
        signature: url.replace(signature, flipped),
      };

      // Act
      const untouched = await fetch(url);
      const answers = Object.fromEntries(
        await Promise.all(
          Object.entries(tampered).map(async ([what, tamperedUrl]) => {
            const answer = await fetch(tamperedUrl);
            return [what, [answer.status, errorCode(await answer.text())]] as const;
          }),
        ),
      );

      // Assess
      expect(untouched.status).toBe(200);
      expect(answers).toEqual({
        path: [403, 'SignatureDoesNotMatch'],
        query: [403, 'SignatureDoesNotMatch'],
        addedQuery: [403, 'SignatureDoesNotMatch'],
        signature: [403, 'SignatureDoesNotMatch'],
      });
    });

    it('answers 403 to a wrong secret key (SignatureDoesNotMatch) and to an unknown key (InvalidAccessKeyId)', async () => {
      // Prepare
      const key = `presigned/${randomBytes(4).toString('hex')}.txt`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'secret' }));
      const wrongSecret = await signer.presign(store.endpoint, 'GET', key, {
        credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret' },
      });
      const unknownKey = await signer.presign(store.endpoint, 'GET', key, {
        credentials: { accessKeyId: 'SOMEONEELSE', secretAccessKey: CREDENTIALS.secretAccessKey },
      });

      // Act
      const wrongSecretAnswer = await fetch(wrongSecret);
      const unknownKeyAnswer = await fetch(unknownKey);

      // Assess
      expect([wrongSecretAnswer.status, errorCode(await wrongSecretAnswer.text())]).toEqual([
        403,
        'SignatureDoesNotMatch',
      ]);
      expect([unknownKeyAnswer.status, errorCode(await unknownKeyAnswer.text())]).toEqual([
        403,
        'InvalidAccessKeyId',
      ]);
    });

    it('answers 403 AccessDenied "Request has expired" to a URL signed an hour ago for a minute', async () => {
      // Prepare
      const key = `presigned/${randomBytes(4).toString('hex')}.txt`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'secret' }));
      const url = await signer.presign(store.endpoint, 'GET', key, {
        expiresIn: 60,
        now: new Date(Date.now() - 3600_000),
      });

      // Act
      const answer = await fetch(url);
      const body = await answer.text();

      // Assess
      expect([answer.status, errorCode(body)]).toEqual([403, 'AccessDenied']);
      expect(body).toContain('Request has expired');
    });

    it('answers 403 SignatureDoesNotMatch to a PUT signed for text/plain and sent as text/html', async () => {
      // Prepare
      const key = `presigned/${randomBytes(4).toString('hex')}.txt`;
      const url = await signer.presign(store.endpoint, 'PUT', key, { contentType: 'text/plain' });

      // Act
      const html = await fetch(url, {
        method: 'PUT',
        body: '<script>',
        headers: { 'content-type': 'text/html' },
      });
      const stored = await sdkFailure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })));

      // Assess
      expect([html.status, errorCode(await html.text())]).toEqual([403, 'SignatureDoesNotMatch']);
      expect(stored.status).toBe(404);
    });
  });

  it("serves the broker's multipart flow: MultipartStoreClient calls and part URLs from SigV4Presigner", async () => {
    // Prepare: as PresignService runs it against a bucket whose endpoint is the store.
    const multipart = new MultipartStoreClient();
    const access = { credentials: CREDENTIALS };
    const key = `broker-multipart/${randomBytes(4).toString('hex')} ü.bin`;
    const location = {
      protocol: 'http:' as const,
      host: new URL(store.endpoint).host,
      path: `/${BUCKET}/${encodeS3Path(key)}`,
      region: REGION,
      bucket: BUCKET,
      encodedKey: encodeS3Path(key),
    };
    const parts = [randomBytes(5 * MiB), randomBytes(1024)];
    const partUrl = (partNumber: number, uploadId: string) =>
      brokerPresigner.presign(CREDENTIALS, {
        ...location,
        method: 'PUT',
        query: { partNumber: String(partNumber), uploadId },
        expiresIn: 600,
        now: new Date(),
      });

    // Act
    const uploadId = await multipart.initiate(location, access, 'application/x-parts');
    const etags: string[] = [];
    for (const [index, part] of parts.entries()) {
      const answer = await fetch(partUrl(index + 1, uploadId), { method: 'PUT', body: part });
      etags.push(answer.headers.get('etag') ?? '');
    }
    const etag = await multipart.complete(
      location,
      access,
      uploadId,
      etags.map((partEtag, index) => ({ part_number: index + 1, etag: partEtag })),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const bytes = Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array()));
    const aborted = await multipart.initiate(location, access);
    await multipart.abort(location, access, aborted);
    const abortedPart = await fetch(partUrl(1, aborted), { method: 'PUT', body: 'late' });

    // Assess
    expect(etag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect(bytes.equals(Buffer.concat(parts))).toBe(true);
    expect(got.ContentType).toBe('application/x-parts');
    expect([abortedPart.status, errorCode(await abortedPart.text())]).toEqual([404, 'NoSuchUpload']);
  }, 60_000);

  it('ignores a checksum in a presigned URL (as S3 and MinIO do) but refuses a wrong checksum or Content-MD5 header', async () => {
    // Prepare: the SDK's default since 3.729 bakes crc32("") = AAAAAA== into presigned PUTs.
    const client = new S3Client({
      endpoint: store.endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: CREDENTIALS,
    });
    const key = `checksum/${randomBytes(4).toString('hex')}.txt`;
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: key }), {
      expiresIn: 60,
    });
    const crc32Of = (text: string) => {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(crc32(text));
      return bytes.toString('base64');
    };

    // Act
    const presigned = await fetch(url, { method: 'PUT', body: 'not empty' });
    const wrongHeader = await signedRawRequest(store.endpoint, 'PUT', `/${BUCKET}/${key}`, {
      body: Buffer.from('replaced'),
      headers: { 'x-amz-checksum-crc32': crc32Of('something else') },
    });
    const rightHeader = await signedRawRequest(store.endpoint, 'PUT', `/${BUCKET}/${key}.2`, {
      body: Buffer.from('replaced'),
      headers: { 'x-amz-checksum-crc32': crc32Of('replaced') },
    });
    const wrongMd5 = await signedRawRequest(store.endpoint, 'PUT', `/${BUCKET}/${key}`, {
      body: Buffer.from('replaced'),
      headers: { 'content-md5': createHash('md5').update('something else').digest('base64') },
    });
    const stored = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));

    // Assess
    expect(url).toContain('x-amz-checksum-crc32=AAAAAA%3D%3D');
    expect([wrongMd5.status, errorCode(wrongMd5.body)]).toEqual([400, 'BadDigest']);
    expect(presigned.status).toBe(200);
    expect([wrongHeader.status, errorCode(wrongHeader.body)]).toEqual([400, 'BadDigest']);
    expect(rightHeader.status).toBe(200);
    expect(await stored.Body?.transformToString()).toBe('not empty');
    client.destroy();
  });

  it('keeps keys with .. segments or encoded slashes inside its directory, as plain keys', async () => {
    // Prepare: sent raw, since fetch would resolve the dot segments before sending.
    const keys = ['../../escape.txt', 'a/../../../escape.txt', '..%2F..%2Fescape-encoded.txt'];
    const before = filesUnder(root).filter((file) => !file.startsWith('store/'));

    // Act
    const answers = [];
    for (const key of keys)
      answers.push(
        await signedRawRequest(store.endpoint, 'PUT', `/${BUCKET}/${key}`, { body: Buffer.from(key) }),
      );
    const outsideBucket = await signedRawRequest(store.endpoint, 'PUT', `/../escape-bucket.txt`, {
      body: Buffer.from('x'),
    });
    const encodedBucket = await signedRawRequest(store.endpoint, 'PUT', `/${BUCKET}%2F..%2F..%2Fescape.txt`, {
      body: Buffer.from('x'),
    });
    const read = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: '../../escape-encoded.txt' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: '..' }));

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect([outsideBucket.status, errorCode(outsideBucket.body)]).toEqual([404, 'NoSuchBucket']);
    expect([encodedBucket.status, errorCode(encodedBucket.body)]).toEqual([404, 'NoSuchBucket']);
    expect(await read.Body?.transformToString()).toBe('..%2F..%2Fescape-encoded.txt');
    expect(listed.Contents?.map((object) => object.Key)).toEqual([
      '../../escape-encoded.txt',
      '../../escape.txt',
    ]);
    expect(filesUnder(root).filter((file) => !file.startsWith('store/'))).toEqual(before);
    // No name a client chose reaches the file system: only hashes and random names do.
    const names = filesUnder(join(root, 'store')).map((file) => file.split('/').pop() ?? '');
    expect(
      names.filter((name) => !/^([0-9a-f]{64}\.json|[0-9a-f]{32}|upload\.json|part-\d+\.json)$/.test(name)),
    ).toEqual([]);
  });

  it('stores and returns the same bytes for any key, through either presigner (property)', async () => {
    // Prepare: keys from characters that need care in URLs, plus any Unicode. Segments "." and
    // ".." are left out: fetch (any WHATWG URL) resolves them before sending, as it would for S3.
    const piece = fc.oneof(
      fc.constantFrom(
        ' ',
        '+',
        '%',
        '~',
        '/',
        '%2F',
        '&',
        '=',
        '?',
        '#',
        '!',
        "'",
        '(',
        ')',
        '*',
        'é',
        '日',
        '\u{1F600}',
      ),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }),
    );
    const keyArb = fc
      .array(piece, { minLength: 1, maxLength: 12 })
      .map((pieces) => pieces.join(''))
      .filter(
        (key) => Buffer.byteLength(key) <= 1024 && !key.split('/').some((s) => s === '.' || s === '..'),
      );

    // Act + Assess
    await fc.assert(
      fc.asyncProperty(
        keyArb,
        fc.uint8Array({ maxLength: 2048 }),
        fc.constantFrom([sdkSigner, brokerSigner], [brokerSigner, sdkSigner], [brokerSigner, brokerSigner]),
        async (key, bytes, [putSigner, getSigner]) => {
          const put = await fetch(await putSigner.presign(store.endpoint, 'PUT', key), {
            method: 'PUT',
            body: bytes,
          });
          const get = await fetch(await getSigner.presign(store.endpoint, 'GET', key));
          expect(put.status).toBe(200);
          expect(get.status).toBe(200);
          expect(Buffer.from(await get.arrayBuffer())).toEqual(Buffer.from(bytes));
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});

/**
 * What a store answers to the same presigned requests, valid and refused, as [status, S3 code].
 * Run against MinIO and against the demo store, the two must agree.
 */
async function presignedAnswers(endpoint: string, credentials: SigningCredentials, signer: UrlSigner) {
  const client = s3Client(endpoint, credentials);
  const key = `parity/${randomBytes(4).toString('hex')}/a+b c.txt`;
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'stored' }));
  const presign = (method: 'GET' | 'PUT', options: PresignOptions = {}) =>
    signer.presign(endpoint, method, key, { credentials, ...options });
  const get = await presign('GET');
  const signature = /X-Amz-Signature=([0-9a-f]{64})/.exec(get)?.[1] ?? '';
  const put = await presign('PUT', { contentType: 'text/plain' });
  const requests: Record<string, () => Promise<Response>> = {
    get: () => fetch(get),
    missingKey: async () => fetch(await signer.presign(endpoint, 'GET', `${key}.missing`, { credentials })),
    otherPath: () => fetch(get.replace('c.txt?', 'c.txT?')),
    otherQuery: () => fetch(get.replace('X-Amz-Expires=3600', 'X-Amz-Expires=3599')),
    otherSignature: () =>
      fetch(
        get.replace(
          signature,
          signature.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
        ),
      ),
    wrongSecret: async () =>
      fetch(await presign('GET', { credentials: { ...credentials, secretAccessKey: 'wrong-secret' } })),
    unknownKey: async () =>
      fetch(await presign('GET', { credentials: { ...credentials, accessKeyId: 'NOSUCHKEY1234' } })),
    expired: async () => fetch(await presign('GET', { expiresIn: 60, now: new Date(Date.now() - 3600_000) })),
    tooLong: () => fetch(get.replace('X-Amz-Expires=3600', 'X-Amz-Expires=604801')),
    put: () => fetch(put, { method: 'PUT', body: 'text', headers: { 'content-type': 'text/plain' } }),
    putOtherType: () => fetch(put, { method: 'PUT', body: 'text', headers: { 'content-type': 'text/html' } }),
    // The SDK's default presigned PUT signs the CRC32 of an empty body into the URL.
    putEmptyBodyChecksum: async () => {
      const defaults = new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials });
      const url = await getSignedUrl(defaults, new PutObjectCommand({ Bucket: BUCKET, Key: key }));
      defaults.destroy();
      return fetch(url, { method: 'PUT', body: 'not empty' });
    },
    headerSignedOtherBody: async () => {
      const url = new URL(endpoint);
      const path = `/${BUCKET}/${encodeS3Path(key)}`;
      const headers = brokerPresigner.signHeaders(credentials, {
        method: 'PUT',
        host: url.host,
        path,
        headers: { 'content-length': '4' },
        body: 'sent',
        payloadHash: createHash('sha256').update('signed').digest('hex'),
        region: REGION,
        now: new Date(),
      });
      return fetch(`${endpoint}${path}`, { method: 'PUT', body: 'sent', headers });
    },
    headerChecksumMismatch: async () => {
      const url = new URL(endpoint);
      const path = `/${BUCKET}/${encodeS3Path(key)}`;
      const headers = brokerPresigner.signHeaders(credentials, {
        method: 'PUT',
        host: url.host,
        path,
        headers: { 'content-length': '4', 'x-amz-checksum-crc32': 'AAAAAA==' },
        body: 'sent',
        region: REGION,
        now: new Date(),
      });
      return fetch(`${endpoint}${path}`, { method: 'PUT', body: 'sent', headers });
    },
  };
  const answers: Record<string, [number, string | undefined]> = {};
  for (const [name, send] of Object.entries(requests)) {
    const answer = await send();
    answers[name] = [answer.status, errorCode(await answer.text())];
  }
  client.destroy();
  return answers;
}

describe('Function: startDemoStore (compared with MinIO)', () => {
  const endpoints = readEndpoints();
  const minioCredentials = {
    accessKeyId: endpoints.minio.rootUser,
    secretAccessKey: endpoints.minio.rootPassword,
  };
  let store: DemoStore;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'fbb-demo-store-parity-'));
    store = await startDemoStore({ directory: root, credentials: CREDENTIALS, buckets: [BUCKET] });
    const minio = minioRootClient(endpoints.minio);
    await minio.send(new CreateBucketCommand({ Bucket: BUCKET })).catch((error: unknown) => {
      if (!(error instanceof S3ServiceException && error.name === 'BucketAlreadyOwnedByYou')) throw error;
    });
    minio.destroy();
  });
  afterAll(() => store.close());

  it.each([sdkSigner, brokerSigner])(
    'answers what MinIO answers to the same valid and refused requests, presigned by $name',
    async (signer) => {
      // Act
      const fromMinio = await presignedAnswers(endpoints.minio.endpoint, minioCredentials, signer);
      const fromStore = await presignedAnswers(store.endpoint, CREDENTIALS, signer);

      // Assess: the reference first, so a change in MinIO shows as such.
      expect(fromMinio).toEqual({
        get: [200, undefined],
        missingKey: [404, 'NoSuchKey'],
        otherPath: [403, 'SignatureDoesNotMatch'],
        otherQuery: [403, 'SignatureDoesNotMatch'],
        otherSignature: [403, 'SignatureDoesNotMatch'],
        wrongSecret: [403, 'SignatureDoesNotMatch'],
        unknownKey: [403, 'InvalidAccessKeyId'],
        expired: [403, 'AccessDenied'],
        tooLong: [400, 'AuthorizationQueryParametersError'],
        put: [200, undefined],
        putOtherType: [403, 'SignatureDoesNotMatch'],
        putEmptyBodyChecksum: [200, undefined],
        headerSignedOtherBody: [400, 'XAmzContentSHA256Mismatch'],
        headerChecksumMismatch: [400, 'XAmzContentChecksumMismatch'],
      });
      // One known difference: for a wrong x-amz-checksum-* header the store answers S3's code.
      expect(fromStore).toEqual({ ...fromMinio, headerChecksumMismatch: [400, 'BadDigest'] });
    },
  );
});

describe('Function: startDemoStore (a store clock the test sets)', () => {
  const signedAt = new Date('2030-06-01T12:00:00Z');
  let now = signedAt.getTime();
  let store: DemoStore;
  let tokenStore: DemoStore;
  const session = { ...CREDENTIALS, sessionToken: 'session-token-of-the-demo' };

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'fbb-demo-store-clock-'));
    store = await startDemoStore({
      directory: join(root, 'plain'),
      credentials: CREDENTIALS,
      buckets: [BUCKET],
      clock: () => now,
    });
    tokenStore = await startDemoStore({
      directory: join(root, 'token'),
      credentials: session,
      buckets: [BUCKET],
      clock: () => now,
    });
  });
  afterAll(async () => {
    await store.close();
    await tokenStore.close();
  });

  it('accepts a presigned URL through its last second and refuses it one second later', async () => {
    // Prepare
    const url = await brokerSigner.presign(store.endpoint, 'GET', 'missing-key', {
      expiresIn: 60,
      now: signedAt,
    });

    // Act: a valid signature on a missing key is NoSuchKey; an expired one never gets that far.
    now = signedAt.getTime() + 60_000;
    const lastSecond = await fetch(url);
    now = signedAt.getTime() + 61_000;
    const after = await fetch(url);

    // Assess
    expect([lastSecond.status, errorCode(await lastSecond.text())]).toEqual([404, 'NoSuchKey']);
    expect([after.status, errorCode(await after.text())]).toEqual([403, 'AccessDenied']);
  });

  it('answers 403 RequestTimeTooSkewed to header signatures more than 15 minutes off', async () => {
    // Prepare
    now = signedAt.getTime();
    const send = (minutes: number) =>
      signedRawRequest(store.endpoint, 'GET', `/${BUCKET}/missing-key`, {
        now: new Date(signedAt.getTime() + minutes * 60_000),
      });

    // Act
    const within = [await send(-15), await send(15)];
    const beyond = [await send(-16), await send(16)];

    // Assess
    expect(within.map((answer) => errorCode(answer.body))).toEqual(['NoSuchKey', 'NoSuchKey']);
    expect(beyond.map((answer) => [answer.status, errorCode(answer.body)])).toEqual([
      [403, 'RequestTimeTooSkewed'],
      [403, 'RequestTimeTooSkewed'],
    ]);
  });

  it('signs X-Amz-Security-Token into the URL and refuses a wrong or missing token', async () => {
    // Prepare
    now = signedAt.getTime();
    const presign = (credentials: SigningCredentials) =>
      brokerSigner.presign(tokenStore.endpoint, 'GET', 'missing-key', { credentials, now: signedAt });
    const url = await presign(session);

    // Act
    const right = await fetch(url);
    const tampered = await fetch(
      url.replace(/X-Amz-Security-Token=[^&]*/, 'X-Amz-Security-Token=session-token-of-another'),
    );
    const wrong = await fetch(await presign({ ...session, sessionToken: 'session-token-of-another' }));
    const missing = await fetch(await presign(CREDENTIALS));
    const sdk = await fetch(
      await sdkSigner.presign(tokenStore.endpoint, 'GET', 'missing-key', {
        credentials: session,
        now: signedAt,
      }),
    );

    // Assess
    expect(url).toContain('X-Amz-Security-Token=session-token-of-the-demo');
    expect([right.status, errorCode(await right.text())]).toEqual([404, 'NoSuchKey']);
    expect([sdk.status, errorCode(await sdk.text())]).toEqual([404, 'NoSuchKey']);
    for (const answer of [tampered, wrong, missing])
      expect([answer.status, errorCode(await answer.text())]).toEqual([400, 'InvalidToken']);
  });
});

describe('Function: startDemoStore (files across runs)', () => {
  it('keeps objects across a restart on the same directory and drops bodies left in flight', async () => {
    // Prepare
    const directory = mkdtempSync(join(tmpdir(), 'fbb-demo-store-restart-'));
    const first = await startDemoStore({ directory, credentials: CREDENTIALS, buckets: [BUCKET] });
    const firstClient = s3Client(first.endpoint);
    await firstClient.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept.txt', Body: 'kept' }));
    firstClient.destroy();
    await first.close();
    writeFileSync(join(directory, 'tmp', 'left-in-flight'), 'half a body');

    // Act
    const second = await startDemoStore({ directory, credentials: CREDENTIALS, buckets: [BUCKET] });
    const secondClient = s3Client(second.endpoint);
    const got = await secondClient.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kept.txt' }));
    const body = await got.Body?.transformToString();
    secondClient.destroy();
    await second.close();

    // Assess
    expect(body).toBe('kept');
    expect(readdirSync(join(directory, 'tmp'))).toEqual([]);
  });

  it('stores nothing and leaves no file behind when a client hangs up mid-body', async () => {
    // Prepare
    const directory = mkdtempSync(join(tmpdir(), 'fbb-demo-store-abort-'));
    const unexpected: unknown[] = [];
    const store = await startDemoStore({
      directory,
      credentials: CREDENTIALS,
      buckets: [BUCKET],
      onUnexpectedError: (error) => unexpected.push(error),
    });
    const url = new URL(store.endpoint);
    const headers = brokerPresigner.signHeaders(CREDENTIALS, {
      method: 'PUT',
      host: url.host,
      path: `/${BUCKET}/cut.bin`,
      headers: { 'content-length': String(4 * MiB) },
      payloadHash: 'UNSIGNED-PAYLOAD',
      region: REGION,
      now: new Date(),
    });
    const inFlight = () => readdirSync(join(directory, 'tmp')).length;
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
    };

    // Act: send half the body, wait until the store has begun writing it, then hang up.
    const sent = httpRequest({
      host: url.hostname,
      port: url.port,
      method: 'PUT',
      path: `/${BUCKET}/cut.bin`,
      headers,
    });
    sent.on('error', () => undefined);
    sent.write(randomBytes(2 * MiB));
    await until(() => inFlight() > 0);
    sent.destroy();
    await until(() => inFlight() === 0);
    const client = s3Client(store.endpoint);
    const head = await sdkFailure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cut.bin' })));
    client.destroy();
    await store.close();

    // Assess
    expect(head.status).toBe(404);
    expect(readdirSync(join(directory, 'buckets', BUCKET, 'data'))).toEqual([]);
    expect(unexpected).toEqual([]);
  });
});

describe('Function: startDemoStore (options)', () => {
  it('refuses to bind anything but loopback, and bucket names S3 would refuse', async () => {
    // Prepare
    const directory = mkdtempSync(join(tmpdir(), 'fbb-demo-store-options-'));
    const options = { directory, credentials: CREDENTIALS, buckets: [BUCKET] };

    // Act + Assess
    await expect(startDemoStore({ ...options, host: '0.0.0.0' })).rejects.toThrow(/loopback only/);
    await expect(startDemoStore({ ...options, buckets: ['../up'] })).rejects.toThrow(
      /not a valid S3 bucket name/,
    );
  });
});
