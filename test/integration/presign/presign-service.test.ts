import { createHash, randomBytes } from 'node:crypto';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { SecretResolvers } from '../../../functions/shared/backends/backend-registry';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import {
  BucketSuspendedError,
  OperationNotAllowedError,
  UnknownBucketError,
} from '../../../functions/shared/errors';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { SigV4Presigner } from '../../../functions/shared/signing/sigv4-presigner';
import { roleRegistration } from '../../fixtures/bucket-records';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { presignBed } from '../support/presign-bed';
import { signingStores } from '../support/signing-stores';

const context = { requestId: 'req-1' };

// Every URL is fetched from a store that checks it: MinIO, and LocalStack's S3 as well in the
// LocalStack run (two S3 implementations; signing-stores.ts says what each checks).
describe.each(signingStores())('Class: PresignService ($name, static keys in Secrets Manager)', (store) => {
  let bed: Awaited<ReturnType<typeof presignBed>>;

  beforeAll(async () => {
    bed = await presignBed({ lookupTtlMs: 300, store });
  });

  it('presigns a PUT that uploads, a GET that returns the same bytes, and a HEAD', async () => {
    // Prepare
    const body = randomBytes(4096);
    const key = `dir/ünïcode key+${Date.now()}.bin`;

    // Act
    const put = await bed.service.presign(
      bed.bucketName,
      { key, method: 'PUT', content_type: 'application/octet-stream' },
      context,
    );
    const uploaded = await fetch(put.url, { method: 'PUT', body, headers: put.headers });
    const get = await bed.service.presign(
      bed.bucketName,
      { key, method: 'GET', audit: { user_id: '42', username: 'alice@example.org', client_id: 'fence' } },
      context,
    );
    const downloaded = await fetch(get.url);
    const head = await bed.service.presign(bed.bucketName, { key, method: 'HEAD' }, context);
    const headed = await fetch(head.url, { method: 'HEAD' });

    // Assess
    expect(uploaded.status).toBe(200);
    expect(downloaded.status).toBe(200);
    expect(Buffer.from(await downloaded.arrayBuffer()).equals(body)).toBe(true);
    expect(get.url).toContain('username=alice%40example.org');
    expect(headed.status).toBe(200);
    expect(headed.headers.get('content-length')).toBe('4096');
  });

  it('makes URLs that the store refuses when tampered with, expired, or sent with another content type', async () => {
    // Prepare
    const key = 'refusals.txt';
    const put = await bed.service.presign(
      bed.bucketName,
      { key, method: 'PUT', content_type: 'text/plain' },
      context,
    );
    expect((await fetch(put.url, { method: 'PUT', body: 'x', headers: put.headers })).status).toBe(200);
    const get = await bed.service.presign(bed.bucketName, { key, method: 'GET', expires_in: 1 }, context);

    // Act
    const tampered = await fetch(get.url.replace('refusals.txt', 'refusals.txT'));
    const wrongType = await fetch(put.url, {
      method: 'PUT',
      body: 'y',
      headers: { 'content-type': 'text/html' },
    });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const expired = await fetch(get.url);

    // Assess: refused for the reason each case is about (MinIO and LocalStack use S3's codes).
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(wrongType.status).toBe(403);
    expect(await wrongType.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(expired.status).toBe(403);
    expect(await expired.text()).toMatch(
      /<Code>AccessDenied<\/Code>\s*<Message>Request has expired<\/Message>/,
    );
  });

  it('completes a multipart upload of three 5 MiB parts with matching bytes', async () => {
    // Prepare
    const key = 'multipart/big.bin';
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(5 * 1024 * 1024), randomBytes(5 * 1024 * 1024)];

    // Act
    const { upload_id } = await bed.service.initiateMultipart(bed.bucketName, { key }, context);
    const { parts: urls } = await bed.service.presignParts(
      bed.bucketName,
      { key, upload_id, part_numbers: [1, 2, 3] },
      context,
    );
    const etags: string[] = [];
    for (const [index, part] of parts.entries()) {
      const answer = await fetch(urls[index]?.url ?? '', { method: 'PUT', body: part });
      expect(answer.status).toBe(200);
      etags.push(answer.headers.get('etag') ?? '');
    }
    const { etag } = await bed.service.completeMultipart(
      bed.bucketName,
      { key, upload_id, parts: etags.map((tag, index) => ({ part_number: index + 1, etag: tag })) },
      context,
    );
    const get = await bed.service.presign(bed.bucketName, { key, method: 'GET' }, context);
    const downloaded = Buffer.from(await (await fetch(get.url)).arrayBuffer());

    // Assess
    expect(etag).toMatch(/-3"?$/);
    const digest = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex');
    expect(digest(downloaded)).toBe(digest(Buffer.concat(parts)));
  }, 60_000);

  it('aborts a multipart upload and leaves none behind', async () => {
    // Prepare
    const key = 'multipart/aborted.bin';
    const { upload_id } = await bed.service.initiateMultipart(bed.bucketName, { key }, context);

    // Act
    await bed.service.abortMultipart(bed.bucketName, { key, upload_id }, context);
    const listed = await bed.s3.send(
      new ListMultipartUploadsCommand({ Bucket: bed.bucketName, Prefix: key }),
    );

    // Assess
    expect(listed.Uploads ?? []).toHaveLength(0);
  });

  it('carries requester_pays through a multipart upload: x-amz-request-payer signed into each part URL and the calls', async () => {
    // Prepare
    const key = 'multipart/requester-pays.bin';
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1024)];

    // Act
    const { upload_id } = await bed.service.initiateMultipart(
      bed.bucketName,
      { key, requester_pays: true },
      context,
    );
    const { parts: urls } = await bed.service.presignParts(
      bed.bucketName,
      { key, upload_id, part_numbers: [1, 2], requester_pays: true },
      context,
    );
    const etags: string[] = [];
    for (const [index, part] of parts.entries()) {
      const answer = await fetch(urls[index]?.url ?? '', { method: 'PUT', body: part });
      expect(answer.status).toBe(200);
      etags.push(answer.headers.get('etag') ?? '');
    }
    await bed.service.completeMultipart(
      bed.bucketName,
      {
        key,
        upload_id,
        parts: etags.map((etag, index) => ({ part_number: index + 1, etag })),
        requester_pays: true,
      },
      context,
    );
    const aborted = await bed.service.initiateMultipart(
      bed.bucketName,
      { key: `${key}.aborted`, requester_pays: true },
      context,
    );
    await bed.service.abortMultipart(
      bed.bucketName,
      { key: `${key}.aborted`, upload_id: aborted.upload_id, requester_pays: true },
      context,
    );
    const get = await bed.service.presign(bed.bucketName, { key, method: 'GET' }, context);
    const downloaded = Buffer.from(await (await fetch(get.url)).arrayBuffer());

    // Assess: the store checked every signature, over the request payer's field too.
    for (const url of urls)
      expect(new URL(url.url).searchParams.get('x-amz-request-payer')).toBe('requester');
    expect(downloaded.equals(Buffer.concat(parts))).toBe(true);
  }, 60_000);

  it("clamps expires_in to the bucket's max_expires_in, and expires_at tells the truth", async () => {
    // Prepare
    const { id: _id, created_at: _c, updated_at: _u, revision: _r, ...registration } = bed.record;
    const short = await bed.registry.create({
      ...registration,
      bucket_name: `${bed.bucketName}-short`,
      max_expires_in: 600,
    });
    const before = Date.now();

    // Act
    const url = await bed.service.presign(
      short.bucket_name,
      { key: 'k', method: 'GET', expires_in: 3600 },
      context,
    );
    const after = Date.now();

    // Assess: expires_at is the signing instant (X-Amz-Date, whole seconds) plus the clamped
    // lifetime, and that instant lies within the call.
    const query = new URL(url.url).searchParams;
    const signedAt = Date.parse(
      String(query.get('X-Amz-Date')).replace(
        /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/,
        '$1-$2-$3T$4:$5:$6Z',
      ),
    );
    expect(query.get('X-Amz-Expires')).toBe('600');
    expect(Date.parse(url.expires_at)).toBe(signedAt + 600_000);
    expect(signedAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(signedAt).toBeLessThanOrEqual(after);
  });

  it('refuses unknown buckets and operations outside allowed_ops', async () => {
    await expect(
      bed.service.presign('no-such-bucket', { key: 'k', method: 'GET' }, context),
    ).rejects.toBeInstanceOf(UnknownBucketError);
    const {
      id: _id,
      created_at: _created,
      updated_at: _updated,
      revision: _revision,
      ...registration
    } = bed.record;
    const downloadOnly = await bed.registry.create({
      ...registration,
      bucket_name: `${bed.bucketName}-ro`,
      allowed_ops: ['download'],
    });
    await expect(
      bed.service.presign(downloadOnly.bucket_name, { key: 'k', method: 'PUT' }, context),
    ).rejects.toBeInstanceOf(OperationNotAllowedError);
  });

  it('stops presigning within the registry cache TTL of a suspension', async () => {
    // Prepare
    const fresh = await bed.registry.getByName(bed.bucketName);
    await bed.service.presign(bed.bucketName, { key: 'k', method: 'GET' }, context);

    // Act
    await bed.registry.update(fresh?.id ?? '', fresh?.revision ?? 0, { status: 'suspended' });
    await new Promise((resolve) => setTimeout(resolve, 350));
    const attempt = bed.service.presign(bed.bucketName, { key: 'k', method: 'GET' }, context);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(BucketSuspendedError);
    await expect(attempt).rejects.toMatchObject({ status: 409, code: 'bucket_suspended' });
  });
});

describe('Class: PresignService (role mode, STS)', () => {
  it('calls STS once per credential lifetime and never signs past the credentials expiry', async () => {
    // Prepare
    const registry = new DynamoDbBucketRegistry(await createRegistryTable(dynamoDb()));
    await registry.create(roleRegistration({ bucket_name: 'role-bucket', max_expires_in: 3600 }));
    const roles = new AssumedRoleCredentials({ durationSeconds: 900 });
    const service = new PresignService({
      buckets: new CachedBucketLookup(registry),
      credentials: new BucketCredentialsService(new SecretResolvers(new Map()), roles),
      presigner: new SigV4Presigner(),
      multipart: new MultipartStoreClient(),
    });

    // Act
    const urls = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        service.presign(
          'role-bucket',
          { key: `k${index}`, method: 'GET', expires_in: 3600 },
          { requestId: `r${index}` },
        ),
      ),
    );
    const single = await service.presign(
      'role-bucket',
      { key: 'again', method: 'GET', expires_in: 60 },
      context,
    );

    // Assess
    expect(roles.calls).toBe(1);
    const latestExpiry = Date.now() + 900_000 + 5_000;
    for (const url of [...urls, single]) {
      expect(new Date(url.expires_at).getTime()).toBeLessThanOrEqual(latestExpiry);
      expect(url.url).toContain('X-Amz-Security-Token=');
      expect(url.url.startsWith('https://role-bucket.s3.us-east-1.amazonaws.com/')).toBe(true);
    }
    expect(Number(new URL(urls[0]?.url ?? '').searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(900);
  });
});
