import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import type { ObjectLocation } from '../../../functions/shared/presign/object-location';
import { ServiceAccountKeySigner } from '../../../functions/shared/signing/gcs-v4-presigner';
import { verifyGcsV4Url } from '../support/fake-gcp';
import { HungServer } from '../support/hung-server';

/** A request the recording store received. */
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A store on 127.0.0.1 that records each request and answers it as S3 and GCS's XML API do
 * (an upload id, a completed object's ETag, 204 for an abort), checking nothing: what reaches
 * a store is asserted here; that real stores accept it, by MinIO and the GCS fake elsewhere.
 */
async function recordingStore(): Promise<{ received: Received[]; url: string; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const query = new URL(request.url ?? '/', 'http://store').searchParams;
      if (request.method === 'DELETE') {
        response.writeHead(204).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(
        query.has('uploads')
          ? '<InitiateMultipartUploadResult><UploadId>upload-1</UploadId></InitiateMultipartUploadResult>'
          : '<CompleteMultipartUploadResult><ETag>&quot;done&quot;</ETag></CompleteMultipartUploadResult>',
      );
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    received,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function locationAt(endpoint: string): ObjectLocation {
  return {
    protocol: 'http:',
    host: new URL(endpoint).host,
    path: '/data-bucket/dir/big%20file.bin',
    region: 'us-east-1',
    bucket: 'data-bucket',
    encodedKey: 'dir/big%20file.bin',
  };
}

/** The three calls of an upload: initiate (with a content type), complete, abort. */
async function uploadCalls(
  client: MultipartStoreClient,
  location: ObjectLocation,
  access: Parameters<MultipartStoreClient['abort']>[1],
) {
  const uploadId = await client.initiate(location, access, 'application/x-parts');
  const etag = await client.complete(location, access, uploadId, [{ part_number: 1, etag: '"a"' }]);
  await client.abort(location, access, uploadId);
  return { uploadId, etag };
}

describe('Class: MultipartStoreClient (what reaches the store)', () => {
  const client = new MultipartStoreClient();
  const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret-example' };
  let store: Awaited<ReturnType<typeof recordingStore>>;

  beforeEach(async () => {
    store = await recordingStore();
  });
  afterEach(() => store.close());

  it('signs S3 calls with SigV4 headers, x-amz-request-payer included (and sent) only with requesterPays', async () => {
    // Act
    const plain = await uploadCalls(client, locationAt(store.url), { credentials });
    const paying = await uploadCalls(client, locationAt(store.url), { credentials, requesterPays: true });

    // Assess
    expect(plain).toEqual({ uploadId: 'upload-1', etag: '"done"' });
    expect(paying).toEqual(plain);
    expect(store.received.map((request) => `${request.method} ${request.url}`)).toEqual([
      'POST /data-bucket/dir/big%20file.bin?uploads',
      'POST /data-bucket/dir/big%20file.bin?uploadId=upload-1',
      'DELETE /data-bucket/dir/big%20file.bin?uploadId=upload-1',
      'POST /data-bucket/dir/big%20file.bin?uploads',
      'POST /data-bucket/dir/big%20file.bin?uploadId=upload-1',
      'DELETE /data-bucket/dir/big%20file.bin?uploadId=upload-1',
    ]);
    for (const [index, request] of store.received.entries()) {
      const signedHeaders = /SignedHeaders=([^,]+)/
        .exec(String(request.headers.authorization))?.[1]
        ?.split(';');
      expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE\//);
      expect(request.headers['x-amz-request-payer']).toBe(index < 3 ? undefined : 'requester');
      expect(signedHeaders?.includes('x-amz-request-payer')).toBe(index >= 3);
    }
  });

  it('sends GCS calls to V4-signed URLs, without OAuth: userProject and the content type signed in, verifying against the key', async () => {
    // Prepare
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signer = new ServiceAccountKeySigner({
      client_email: 'uploader@gen3-project.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    const location = locationAt(store.url);

    // Act
    const plain = await uploadCalls(client, location, { gcs: signer });
    const paying = await uploadCalls(client, location, { gcs: signer, userProject: 'gen3-billing' });

    // Assess
    expect([plain, paying]).toEqual([
      { uploadId: 'upload-1', etag: '"done"' },
      { uploadId: 'upload-1', etag: '"done"' },
    ]);
    const calls = store.received.map((request) => {
      const url = new URL(request.url, store.url);
      const headers: Record<string, string> = {};
      if (request.headers['content-type'] !== undefined)
        headers['content-type'] = request.headers['content-type'];
      return {
        call: `${request.method} ${url.pathname} ${[...url.searchParams.keys()].filter((name) => !name.startsWith('X-Goog-')).join('&')}`,
        userProject: url.searchParams.get('userProject'),
        signedHeaders: url.searchParams.get('X-Goog-SignedHeaders'),
        authorization: request.headers.authorization,
        valid: verifyGcsV4Url(url.toString(), request.method, headers, publicKey).valid,
      };
    });
    expect(calls.map(({ call }) => call)).toEqual([
      'POST /data-bucket/dir/big%20file.bin uploads',
      'POST /data-bucket/dir/big%20file.bin uploadId',
      'DELETE /data-bucket/dir/big%20file.bin uploadId',
      'POST /data-bucket/dir/big%20file.bin uploads&userProject',
      'POST /data-bucket/dir/big%20file.bin uploadId&userProject',
      'DELETE /data-bucket/dir/big%20file.bin uploadId&userProject',
    ]);
    expect(calls.map(({ userProject }) => userProject)).toEqual([
      null,
      null,
      null,
      'gen3-billing',
      'gen3-billing',
      'gen3-billing',
    ]);
    expect(calls.map(({ signedHeaders }) => signedHeaders)).toEqual([
      'content-type;host',
      'content-type;host',
      'host',
      'content-type;host',
      'content-type;host',
      'host',
    ]);
    for (const call of calls) {
      expect(call.authorization).toBeUndefined();
      expect(call.valid).toBe(true);
    }
    expect(store.received[1]?.body).toBe(
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part></CompleteMultipartUpload>',
    );
  });

  it('gives a hung GCS store its budget, then 503 store_unavailable', async () => {
    // Prepare
    const hung = await HungServer.start();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signer = new ServiceAccountKeySigner({
      client_email: 'uploader@gen3-project.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });

    // Act
    const refused = await new MultipartStoreClient(300).initiate(locationAt(hung.url), { gcs: signer }).then(
      () => undefined,
      (error: Error) => error,
    );
    await hung.close();

    // Assess
    expect(hung.connections).toBe(1);
    expect(refused).toMatchObject({ code: 'store_unavailable', status: 503 });
    expect(refused?.message).toContain('did not answer in time');
  });
});
