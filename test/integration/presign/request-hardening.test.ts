import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handlePresignApi, PRESIGN_ROUTES } from '../../../functions/presign/presign-api';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { SigV4Presigner } from '../../../functions/shared/signing/sigv4-presigner';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { presignBed } from '../support/presign-bed';
import { signingStores } from '../support/signing-stores';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * Inputs a black-box client sent to the broker: dot segments in keys, header injection through
 * content_type, invalid UTF-8 and C1 controls. Each is refused with 400 before anything reaches
 * the store; the store sees a connection only for the negative controls. What is accepted is
 * fetched from each signature-checking store of the run (MinIO; LocalStack's S3 too in the
 * LocalStack run).
 */
describe.each(signingStores())(
  'Function: handlePresignApi refuses what would be signed wrongly ($name)',
  (store) => {
    let bed: Awaited<ReturnType<typeof presignBed>>;
    let proxy: TcpProxy;
    /** The bed's bucket registered in a second registry, reached through a proxy that counts connections. */
    let proxied: PresignService;

    const call = (route: string, body: unknown, options: { proxied?: boolean; base64?: boolean } = {}) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      return handlePresignApi(
        {
          httpMethod: 'POST',
          path: `/v1/buckets/${bed.bucketName}/${route}`,
          body: options.base64 ? Buffer.from(text, 'latin1').toString('base64') : text,
          isBase64Encoded: options.base64 ?? false,
          requestContext: {},
        } as unknown as APIGatewayProxyEvent,
        { requestId: 'req-hardening' },
        { service: options.proxied ? proxied : bed.service, record: () => undefined },
      );
    };
    const bodyOf = (route: string, key: string) =>
      ({
        presign: { key, method: 'GET' },
        'presign-batch': { items: [{ key, method: 'GET' }] },
        multipart: { key },
        'multipart/parts': { key, upload_id: 'upload', part_numbers: [1] },
        'multipart/complete': { key, upload_id: 'upload', parts: [{ part_number: 1, etag: '"e"' }] },
        'multipart/abort': { key, upload_id: 'upload' },
      })[route];

    beforeAll(async () => {
      bed = await presignBed({ store });
      const started = await TcpProxy.start(store.endpoint);
      proxy = started.proxy;
      const { id: _id, created_at: _c, updated_at: _u, revision: _r, ...registration } = bed.record;
      const registry = new DynamoDbBucketRegistry(await createRegistryTable(dynamoDb()));
      await registry.create({ ...registration, endpoint: started.url });
      proxied = new PresignService({
        buckets: new CachedBucketLookup(registry),
        credentials: new BucketCredentialsService(bed.secrets, bed.roles),
        presigner: new SigV4Presigner(),
        multipart: new MultipartStoreClient(),
      });
    });

    afterAll(async () => {
      await proxy.close();
    });

    it.each(PRESIGN_ROUTES)(
      'refuses keys with "." or ".." path segments on %s, saying why',
      async (route) => {
        for (const key of ['../../other-bucket/x', 'a/../b', './a', 'a/.', '..', 'a/./b']) {
          // Act
          const answer = await call(route, bodyOf(route, key), { proxied: true });

          // Assess: the batch answers per item; every other route fails the request.
          const error =
            route === 'presign-batch'
              ? JSON.parse(answer.body).results[0].error
              : JSON.parse(answer.body).error;
          expect(answer.statusCode).toBe(route === 'presign-batch' ? 200 : 400);
          expect(error.code).toBe('invalid_request');
          expect(error.message).toMatch(
            /^key must not have "\." or "\.\." path segments: HTTP clients resolve them/,
          );
        }
        expect(proxy.connections).toBe(0);
      },
      30_000,
    );

    it('starts no multipart upload for key ../../other-bucket/x: 400, and the store receives nothing', async () => {
      // Prepare
      const before = proxy.connections;

      // Act
      const escaping = await call('multipart', { key: '../../other-bucket/x' }, { proxied: true });
      const connectionsAfterRefusal = proxy.connections;
      // Negative control: the same route through the same proxy reaches the store with a plain key.
      const plain = await call('multipart', { key: 'other-bucket/x' }, { proxied: true });

      // Assess
      expect(escaping.statusCode).toBe(400);
      expect(connectionsAfterRefusal).toBe(before);
      expect(plain.statusCode).toBe(200);
      expect(proxy.connections).toBeGreaterThan(before);
    });

    it.each([
      ['CR LF', 'text/plain\r\nx-injected: 1'],
      ['LF before a parameter', 'text/plain\n; charset=utf-8'],
      ['VT', 'text/plain\u000b; charset=utf-8'],
      ['FF', 'text/plain\u000c; charset=utf-8'],
      ['NBSP', 'text/plain\u00a0; charset=utf-8'],
      ['LINE SEPARATOR', 'text/plain\u2028; charset=utf-8'],
      ['IDEOGRAPHIC SPACE', 'text/plain\u3000; charset=utf-8'],
      ['a trailing space', 'text/plain '],
      ['a non-ASCII parameter', 'text/plain; name=é'],
    ])('refuses a content_type with %s on presign and multipart, before the store', async (_case, type) => {
      // Prepare
      const before = proxy.connections;

      // Act
      const presign = await call(
        'presign',
        { key: 'k', method: 'PUT', content_type: type },
        { proxied: true },
      );
      const multipart = await call('multipart', { key: 'k', content_type: type }, { proxied: true });

      // Assess
      for (const answer of [presign, multipart]) {
        expect(answer.statusCode).toBe(400);
        expect(JSON.parse(answer.body).error.message).toMatch(/^content_type must be an RFC 9110 media type/);
      }
      expect(proxy.connections).toBe(before);
    });

    it('accepts media types with parameters, spaces, tabs and quoted strings, and the store takes the upload', async () => {
      for (const type of [
        'text/plain; charset=utf-8',
        'text/plain\t;\tcharset=utf-8',
        'text/x-a;q="a \\" b"',
      ]) {
        // Act
        const answer = await call('presign', { key: 'typed.txt', method: 'PUT', content_type: type });
        const body = JSON.parse(answer.body);
        const uploaded = await fetch(body.url, { method: 'PUT', body: 'typed', headers: body.headers });

        // Assess
        expect(answer.statusCode).toBe(200);
        expect(body.headers['content-type']).toBe(type);
        expect(uploaded.status).toBe(200);
      }
      const upload = await call('multipart', {
        key: 'typed-mp.txt',
        content_type: 'text/plain; charset=utf-8',
      });
      expect(upload.statusCode).toBe(200);
    });

    it('refuses a body that is not valid UTF-8 instead of signing U+FFFD', async () => {
      // Act: the bytes API Gateway passes base64-encoded (every media type is binary on this API).
      const invalid = await call('presign', '{"key":"a\xff\xfe.txt","method":"GET"}', { base64: true });
      const overlong = await call('presign', '{"key":"a\xc0\xaf.txt","method":"GET"}', { base64: true });
      const valid = await call(
        'presign',
        Buffer.from('{"key":"\u00e9t\u00e9.txt","method":"GET"}').toString('latin1'),
        {
          base64: true,
        },
      );

      // Assess
      for (const answer of [invalid, overlong]) {
        expect(answer.statusCode).toBe(400);
        expect(JSON.parse(answer.body).error.message).toBe('request body is not valid UTF-8');
      }
      expect(valid.statusCode).toBe(200);
      expect(JSON.parse(valid.body).url).toContain('/%C3%A9t%C3%A9.txt?');
    });

    it('refuses C1 controls in keys and audit text like C0 and DEL, and keeps other non-ASCII keys working', async () => {
      // Act
      const refused = await Promise.all([
        call('presign', { key: 'a\u0085b', method: 'GET' }),
        call('presign', { key: 'a\u009b31mb', method: 'GET' }),
        call('presign', { key: 'k', method: 'GET', audit: { username: 'alice\u0090' } }),
        call('presign', { key: 'k', method: 'GET', purpose: 'audit\u009f' }),
        call('presign', { key: 'a\u007fb', method: 'GET' }),
      ]);
      const key = 'nbsp\u00a0and\ufffdreplacement.txt';
      const put = JSON.parse((await call('presign', { key, method: 'PUT' })).body);
      const uploaded = await fetch(put.url, { method: 'PUT', body: 'non-ascii' });
      const get = JSON.parse((await call('presign', { key, method: 'GET' })).body);
      const downloaded = await fetch(get.url);

      // Assess
      for (const answer of refused) {
        expect(answer.statusCode).toBe(400);
        expect(JSON.parse(answer.body).error.message).toContain('must not contain control characters');
      }
      expect(uploaded.status).toBe(200);
      expect(await downloaded.text()).toBe('non-ascii');
    });
  },
);
