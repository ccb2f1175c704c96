import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handlePresignApi } from '../../../functions/presign/presign-api';
import { uniqueName } from '../support/aws';
import { FakeGoogleCloud } from '../support/fake-gcp';
import { gcsPresignService } from '../support/gcs-presign-service';

/** The error `call` fails with (undefined if it succeeds), caught at once. */
const failure = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (error: Error) => error,
  );

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
const errorCode = (xml: string) => /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
const MODES = ['workload_identity', 'static'] as const;
type Mode = (typeof MODES)[number];

describe('Class: PresignService (GCS XML API multipart uploads and requester pays)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'fbb-gcs-mp-'));
  let fake: FakeGoogleCloud;
  const brokerAccount = 'fence-broker@gen3-project.iam.gserviceaccount.com';
  const context = () => ({ requestId: `req-${crypto.randomUUID()}`, deadline: Date.now() + 9_000 });

  beforeAll(async () => {
    fake = await FakeGoogleCloud.start();
    // The broker's Google identity: its Lambda role, federated, acting as fence-broker@.
    fake.grantImpersonation(brokerAccount, 'aws:arn:aws:sts::123456789012:user/moto');
  });
  afterAll(() => fake.close());

  /**
   * A GCS bucket on the fake and its registry record, signed in `mode`: as an account whose key
   * only Google holds (workload identity, through signBlob), or with a service-account key in a
   * k8s secret (static). The static key's `project_id` is `project`; the accounts' emails name
   * `gen3-project`, unless `account` says otherwise.
   */
  function gcsBucket(mode: Mode, options: { requesterPays?: boolean; account?: string } = {}) {
    const bucket = uniqueName(mode === 'static' ? 'gcs-mp-st' : 'gcs-mp-wi');
    const account = options.account ?? `${bucket}@gen3-project.iam.gserviceaccount.com`;
    const common = {
      bucket_name: bucket,
      provider: 'gcp',
      endpoint: fake.url,
      allowed_ops: ['download', 'upload', 'multipart'],
    };
    let record: Record<string, unknown>;
    if (mode === 'workload_identity') {
      fake.googleManagedAccount(account);
      fake.grantImpersonation(account, `serviceAccount:${brokerAccount}`);
      record = { ...common, auth_mode: 'workload_identity', gcp_service_account: account };
    } else {
      const key = fake.serviceAccountKey(account);
      mkdirSync(join(directory, 'secrets', 'gen3', 'fence', 'gcp'), { recursive: true });
      writeFileSync(
        join(directory, 'secrets', 'gen3', 'fence', 'gcp', bucket),
        JSON.stringify({ service_account_key_json: JSON.stringify(key) }),
      );
      record = {
        ...common,
        auth_mode: 'static',
        secrets_backend: 'k8s',
        secret_ref: `gen3/fence/gcp/${bucket}`,
      };
    }
    fake.createGcsBucket(bucket, [account], { requesterPays: options.requesterPays === true });
    return { bucket, account, record };
  }

  /** The presign service as the Lambda wires it, over a file registry holding `records`. */
  const serviceWith = (records: Record<string, unknown>[], variables: Record<string, string> = {}) =>
    gcsPresignService(fake, { directory, brokerAccount, records, variables });

  /** The broker's requests to the bucket since `from`, as `METHOD ?query names`. */
  const requestsTo = (bucket: string, from: number) =>
    fake.gcsRequests
      .slice(from)
      .filter((request) => request.path.startsWith(`/${bucket}/`))
      .map((request) => `${request.method} ?${Object.keys(request.query).sort().join('&')}`);

  it.each(MODES)(
    'uploads a 3-part object (5 MiB, 5 MiB, 1 KiB) through initiate, part URLs and complete (%s), readable by a signed GET',
    async (mode) => {
      // Prepare
      const { bucket, record } = gcsBucket(mode);
      const service = await serviceWith([record]);
      const key = 'uploads/big file (1).bin';
      const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1024)];
      const requestsBefore = fake.gcsRequests.length;
      const callsBefore = fake.calls.length;

      // Act
      const { upload_id } = await service.initiateMultipart(
        bucket,
        { key, content_type: 'application/x-parts' },
        context(),
      );
      const { parts: urls } = await service.presignParts(
        bucket,
        { key, upload_id, part_numbers: [1, 2, 3] },
        context(),
      );
      const etags: string[] = [];
      for (const [index, part] of parts.entries()) {
        const answer = await fetch(urls[index]?.url ?? '', { method: 'PUT', body: part });
        expect(answer.status).toBe(200);
        etags.push(answer.headers.get('etag') ?? '');
      }
      const { etag } = await service.completeMultipart(
        bucket,
        { key, upload_id, parts: etags.map((tag, index) => ({ part_number: index + 1, etag: tag })) },
        context(),
      );
      const get = await service.presign(bucket, { key, method: 'GET' }, context());
      const downloaded = await fetch(get.url);
      const bytes = Buffer.from(await downloaded.arrayBuffer());
      const calls = fake.calls.slice(callsBefore);

      // Assess
      expect(urls.map((url) => url.part_number)).toEqual([1, 2, 3]);
      expect(etags).toEqual(parts.map((part) => `"${md5(part)}"`));
      expect(etag).toMatch(/^".+"$/);
      expect(downloaded.status).toBe(200);
      expect(downloaded.headers.get('content-type')).toBe('application/x-parts');
      expect(sha256(bytes)).toBe(sha256(Buffer.concat(parts)));
      // The broker's own calls went to V4-signed URLs (the fake verified each): no OAuth token
      // for GCS, and no upload left behind.
      expect(requestsTo(bucket, requestsBefore)).toEqual([
        'POST ?uploads',
        'PUT ?partNumber&uploadId',
        'PUT ?partNumber&uploadId',
        'PUT ?partNumber&uploadId',
        'POST ?uploadId',
        'GET ?',
      ]);
      expect(fake.gcsUploadsOf(bucket)).toEqual([]);
      // Workload identity: one signBlob per URL (initiate, 3 parts, complete, GET); static: none.
      expect(calls.filter((call) => call.endsWith(':signBlob'))).toHaveLength(
        mode === 'workload_identity' ? 6 : 0,
      );
      if (mode === 'static') expect(calls).toEqual([]);
    },
    120_000,
  );

  it.each(MODES)(
    'aborts an upload (%s): the upload is gone and a late part is refused',
    async (mode) => {
      // Prepare
      const { bucket, record } = gcsBucket(mode);
      const service = await serviceWith([record]);
      const key = 'uploads/aborted.bin';
      const { upload_id } = await service.initiateMultipart(bucket, { key }, context());
      const { parts } = await service.presignParts(bucket, { key, upload_id, part_numbers: [1] }, context());
      const uploadsBefore = fake.gcsUploadsOf(bucket);

      // Act
      await service.abortMultipart(bucket, { key, upload_id }, context());
      const late = await fetch(parts[0]?.url ?? '', { method: 'PUT', body: 'late' });

      // Assess
      expect(uploadsBefore).toEqual([key]);
      expect(fake.gcsUploadsOf(bucket)).toEqual([]);
      expect(late.status).toBe(404);
      expect(errorCode(await late.text())).toBe('NoSuchUpload');
    },
    60_000,
  );

  it('answers a wrong upload id with 400 invalid_request naming upload_id, through the API', async () => {
    // Prepare
    const { bucket, record } = gcsBucket('static');
    const service = await serviceWith([record]);
    const call = (route: string, body: unknown) =>
      handlePresignApi(
        {
          httpMethod: 'POST',
          path: `/v1/buckets/${bucket}/${route}`,
          body: JSON.stringify(body),
          isBase64Encoded: false,
          requestContext: { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/fence/pod' } },
        } as unknown as APIGatewayProxyEvent,
        { requestId: 'req-wrong-upload' },
        { service, record: () => undefined },
      );
    const key = 'uploads/never-started.bin';

    // Act
    const complete = await call('multipart/complete', {
      key,
      upload_id: 'no-such-upload',
      parts: [{ part_number: 1, etag: '"0123"' }],
    });
    const abort = await call('multipart/abort', { key, upload_id: 'no-such-upload' });

    // Assess
    for (const answer of [complete, abort]) {
      expect(answer.statusCode).toBe(400);
      expect(JSON.parse(answer.body).error).toMatchObject({
        code: 'invalid_request',
        message: expect.stringContaining('NoSuchUpload'),
      });
    }
  });

  it('answers a completion GCS refuses (a part under 5 MiB before the last, a wrong ETag) with 400 naming parts; a lone small part completes', async () => {
    // Prepare: two small parts, so only the last may be small.
    const { bucket, record } = gcsBucket('static');
    const service = await serviceWith([record]);
    const key = 'uploads/refused.bin';
    const { upload_id } = await service.initiateMultipart(bucket, { key }, context());
    const { parts: urls } = await service.presignParts(
      bucket,
      { key, upload_id, part_numbers: [1, 2] },
      context(),
    );
    const etags: string[] = [];
    for (const url of urls) {
      const answer = await fetch(url.url, { method: 'PUT', body: randomBytes(1024) });
      etags.push(answer.headers.get('etag') ?? '');
    }
    const complete = (parts: { part_number: number; etag: string }[]) =>
      failure(service.completeMultipart(bucket, { key, upload_id, parts }, context()));

    // Act
    const tooSmall = await complete(etags.map((etag, index) => ({ part_number: index + 1, etag })));
    const wrongEtag = await complete([{ part_number: 1, etag: '"00000000000000000000000000000000"' }]);
    const onlyLast = await complete([{ part_number: 2, etag: etags[1] ?? '' }]);

    // Assess
    expect(tooSmall).toMatchObject({ code: 'invalid_request', status: 400, field: 'parts' });
    expect(tooSmall?.message).toContain('EntityTooSmall');
    expect(wrongEtag).toMatchObject({ code: 'invalid_request', status: 400, field: 'parts' });
    expect(wrongEtag?.message).toContain('InvalidPart');
    // A single (hence last) part may be small: GCS assembles it.
    expect(onlyLast).toBeUndefined();
  });

  it('has each part URL signed for its part: a tampered part number or upload id is refused by GCS', async () => {
    // Prepare
    const { bucket, record } = gcsBucket('workload_identity');
    const service = await serviceWith([record]);
    const key = 'uploads/tampered.bin';
    const { upload_id } = await service.initiateMultipart(bucket, { key }, context());
    const { parts } = await service.presignParts(bucket, { key, upload_id, part_numbers: [1] }, context());
    const url = parts[0]?.url ?? '';

    // Act
    const genuine = await fetch(url, { method: 'PUT', body: 'part one' });
    const otherPart = await fetch(url.replace('partNumber=1&', 'partNumber=2&'), {
      method: 'PUT',
      body: 'part two',
    });
    const otherUpload = await fetch(
      url.replace(`uploadId=${encodeURIComponent(upload_id)}`, 'uploadId=other'),
      {
        method: 'PUT',
        body: 'part one',
      },
    );

    // Assess: the genuine URL works, so the refusals are the tampering's.
    expect(genuine.status).toBe(200);
    expect(url).toContain('partNumber=1&');
    for (const refused of [otherPart, otherUpload]) {
      expect(refused.status).toBe(403);
      expect(errorCode(await refused.text())).toBe('SignatureDoesNotMatch');
    }
  });

  describe('requester-pays buckets', () => {
    it.each([
      ['workload_identity', {}, 'gen3-project'],
      ['static', {}, 'project'],
      ['workload_identity', { GCP_REQUESTER_PAYS_PROJECT: 'gen3-billing' }, 'gen3-billing'],
      ['static', { GCP_REQUESTER_PAYS_PROJECT: 'gen3-billing' }, 'gen3-billing'],
    ] as const)(
      'serves GET, PUT, a batch and a multipart upload with requester_pays (%s, %j), billing %s',
      async (mode, variables, billed) => {
        // Prepare
        const { bucket, record } = gcsBucket(mode, { requesterPays: true });
        const service = await serviceWith([record], variables);
        const requestsBefore = fake.gcsRequests.length;

        // Act
        const put = await service.presign(
          bucket,
          { key: 'rp/small.txt', method: 'PUT', content_type: 'text/plain', requester_pays: true },
          context(),
        );
        const stored = await fetch(put.url, {
          method: 'PUT',
          body: 'paid by the requester',
          headers: put.headers,
        });
        const get = await service.presign(
          bucket,
          { key: 'rp/small.txt', method: 'GET', requester_pays: true },
          context(),
        );
        const read = await fetch(get.url);
        const [batchGet] = await service.presignBatch(
          bucket,
          [{ key: 'rp/small.txt', method: 'GET', requester_pays: true }],
          context(),
        );
        const batchRead = await fetch(batchGet !== undefined && 'url' in batchGet ? batchGet.url : '');
        const key = 'rp/multipart.bin';
        const { upload_id } = await service.initiateMultipart(
          bucket,
          { key, requester_pays: true },
          context(),
        );
        const { parts } = await service.presignParts(
          bucket,
          { key, upload_id, part_numbers: [1], requester_pays: true },
          context(),
        );
        const part = await fetch(parts[0]?.url ?? '', { method: 'PUT', body: 'one small part' });
        await service.completeMultipart(
          bucket,
          {
            key,
            upload_id,
            parts: [{ part_number: 1, etag: part.headers.get('etag') ?? '' }],
            requester_pays: true,
          },
          context(),
        );
        const aborted = await service.initiateMultipart(
          bucket,
          { key: 'rp/aborted.bin', requester_pays: true },
          context(),
        );
        await service.abortMultipart(
          bucket,
          { key: 'rp/aborted.bin', upload_id: aborted.upload_id, requester_pays: true },
          context(),
        );
        const assembled = await service.presign(
          bucket,
          { key, method: 'GET', requester_pays: true },
          context(),
        );
        const readBack = await fetch(assembled.url);

        // Assess
        expect(stored.status).toBe(200);
        expect(await read.text()).toBe('paid by the requester');
        expect(await batchRead.text()).toBe('paid by the requester');
        expect(part.status).toBe(200);
        expect(await readBack.text()).toBe('one small part');
        expect(new URL(get.url).searchParams.get('userProject')).toBe(billed);
        // Every request the bucket received named the billed project, the broker's own included.
        const requests = fake.gcsRequests
          .slice(requestsBefore)
          .filter((request) => request.path.startsWith(`/${bucket}/`));
        expect(requests.map((request) => request.method)).toEqual([
          'PUT',
          'GET',
          'GET',
          'POST',
          'PUT',
          'POST',
          'POST',
          'DELETE',
          'GET',
        ]);
        expect(new Set(requests.map((request) => request.query.userProject))).toEqual(new Set([billed]));
      },
      60_000,
    );

    it.each(MODES)(
      'is refused by GCS without requester_pays (%s): UserProjectMissing, and 400 naming requester_pays from the broker',
      async (mode) => {
        // Prepare: the negative control of the test above, on the same kind of bucket.
        const { bucket, record } = gcsBucket(mode, { requesterPays: true });
        const service = await serviceWith([record]);

        // Act
        const put = await service.presign(bucket, { key: 'rp/free.txt', method: 'PUT' }, context());
        const stored = await fetch(put.url, { method: 'PUT', body: 'not paid for' });
        const initiate = await failure(service.initiateMultipart(bucket, { key: 'rp/free.bin' }, context()));

        // Assess
        expect(stored.status).toBe(400);
        expect(errorCode(await stored.text())).toBe('UserProjectMissing');
        expect(initiate).toMatchObject({ code: 'invalid_request', status: 400, field: 'requester_pays' });
        expect(fake.gcsUploadsOf(bucket)).toEqual([]);
      },
      60_000,
    );

    it('answers 400 naming requester_pays when the signing account names no project and none is configured', async () => {
      // Prepare: the Compute Engine default account's email holds a project number, not an id.
      const { bucket, record } = gcsBucket('workload_identity', {
        requesterPays: true,
        account: '123456789012-compute@developer.gserviceaccount.com',
      });
      const service = await serviceWith([record]);

      // Act
      const single = await failure(
        service.presign(bucket, { key: 'a', method: 'GET', requester_pays: true }, context()),
      );
      const batch = await service.presignBatch(
        bucket,
        [
          { key: 'a', method: 'GET', requester_pays: true },
          { key: 'a', method: 'GET' },
        ],
        context(),
      );
      const multipart = await failure(
        service.initiateMultipart(bucket, { key: 'a', requester_pays: true }, context()),
      );
      const configured = await (
        await serviceWith([record], { GCP_REQUESTER_PAYS_PROJECT: 'gen3-billing' })
      ).presign(bucket, { key: 'a', method: 'GET', requester_pays: true }, context());

      // Assess
      for (const refused of [single, multipart]) {
        expect(refused).toMatchObject({ code: 'invalid_request', status: 400, field: 'requester_pays' });
        expect(refused?.message).toContain('GCP_REQUESTER_PAYS_PROJECT');
      }
      expect(batch[0]).toEqual({
        error: { code: 'invalid_request', message: expect.stringContaining('requester_pays') },
      });
      expect(batch[1]).toHaveProperty('url');
      expect(new URL(configured.url).searchParams.get('userProject')).toBe('gen3-billing');
      expect(fake.gcsUploadsOf(bucket)).toEqual([]);
    }, 60_000);
  });
});
