import { createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '../support/aws';
import { FakeGoogleCloud, verifyGcsV4Url } from '../support/fake-gcp';
import { gcsPresignService } from '../support/gcs-presign-service';

/** The error `call` fails with (undefined if it succeeds), caught at once. */
const failure = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (error: Error) => error,
  );

describe('Class: PresignService (GCS V4 URLs for provider gcp)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'fbb-gcs-'));
  let fake: FakeGoogleCloud;
  const brokerAccount = 'fence-broker@gen3-project.iam.gserviceaccount.com';

  beforeAll(async () => {
    fake = await FakeGoogleCloud.start();
    // The broker's Google identity: its Lambda role, federated, acting as fence-broker@.
    fake.grantImpersonation(brokerAccount, 'aws:arn:aws:sts::123456789012:user/moto');
  });
  afterAll(() => fake.close());

  /** The presign service as the Lambda wires it, over a file registry holding `records`. */
  const serviceWith = (records: Record<string, unknown>[], variables: Record<string, string> = {}) =>
    gcsPresignService(fake, { directory, brokerAccount, records, variables });

  it("signs GET, PUT and HEAD as the bucket's service account through signBlob (workload identity end to end), each URL verifying against Google's key", async () => {
    // Prepare: a bucket service account whose key only Google holds; the broker may sign as it.
    const bucket = uniqueName('gcs-wi');
    const account = `${bucket}@gen3-project.iam.gserviceaccount.com`;
    const publicKey = fake.googleManagedAccount(account);
    fake.grantImpersonation(account, `serviceAccount:${brokerAccount}`);
    const service = await serviceWith([
      {
        bucket_name: bucket,
        provider: 'gcp',
        auth_mode: 'workload_identity',
        gcp_service_account: account,
        allowed_ops: ['download', 'upload'],
      },
    ]);
    const callsBefore = fake.calls.length;
    const context = { requestId: 'req-gcs', deadline: Date.now() + 9_000 };

    // Act
    const get = await service.presign(
      bucket,
      { key: 'dir/résumé (1).txt', method: 'GET', audit: { user_id: '42', username: 'ana@example.org' } },
      context,
    );
    const put = await service.presign(
      bucket,
      { key: 'up.bin', method: 'PUT', content_type: 'application/octet-stream' },
      context,
    );
    const head = await service.presign(bucket, { key: 'dir/résumé (1).txt', method: 'HEAD' }, context);
    const batch = await service.presignBatch(
      bucket,
      Array.from({ length: 20 }, (_, index) => ({ key: `batch/${index}`, method: 'GET' as const })),
      context,
    );
    const calls = fake.calls.slice(callsBefore);

    // Assess
    for (const [answer, method] of [
      [get, 'GET'],
      [put, 'PUT'],
      [head, 'HEAD'],
    ] as const) {
      expect(answer.url.startsWith(`https://storage.googleapis.com/${bucket}/`)).toBe(true);
      expect(verifyGcsV4Url(answer.url, method, answer.headers, publicKey)).toEqual({
        valid: true,
        email: account,
      });
    }
    expect(get.url).toContain('/dir/r%C3%A9sum%C3%A9%20%281%29.txt?');
    expect(get.url).toContain('username=ana%40example.org');
    expect(put.headers).toEqual({ 'content-type': 'application/octet-stream' });
    expect(verifyGcsV4Url(put.url, 'PUT', {}, publicKey).valid).toBe(false);
    for (const result of batch) {
      expect('url' in result && verifyGcsV4Url(result.url, 'GET', {}, publicKey).valid).toBe(true);
    }
    expect(calls.filter((call) => call.endsWith(':signBlob'))).toHaveLength(23);
    // One federation and one impersonation for all 23 signatures: the broker's token is cached.
    expect(calls.filter((call) => call === 'POST /v1/token')).toHaveLength(1);
    expect(calls.filter((call) => call.endsWith(':generateAccessToken'))).toHaveLength(1);
  }, 60_000);

  it('signs locally with a service_account_key_json secret (static mode), multipart part URLs included, calling no Google endpoint', async () => {
    // Prepare
    const bucket = uniqueName('gcs-static');
    const key = fake.serviceAccountKey(`${bucket}@gen3-project.iam.gserviceaccount.com`);
    const secretFile = join(directory, 'secrets', 'gen3', 'fence', 'gcp', bucket);
    mkdirSync(join(directory, 'secrets', 'gen3', 'fence', 'gcp'), { recursive: true });
    writeFileSync(secretFile, JSON.stringify({ service_account_key_json: JSON.stringify(key) }));
    const service = await serviceWith([
      {
        bucket_name: bucket,
        provider: 'gcp',
        auth_mode: 'static',
        secrets_backend: 'k8s',
        secret_ref: `gen3/fence/gcp/${bucket}`,
        allowed_ops: ['download', 'upload', 'multipart'],
      },
    ]);
    const callsBefore = fake.calls.length;

    // Act
    const get = await service.presign(
      bucket,
      { key: 'data/file.csv', method: 'GET', expires_in: 600 },
      { requestId: 'r' },
    );
    const { parts } = await service.presignParts(
      bucket,
      { key: 'big.bin', upload_id: 'upload-1', part_numbers: [1, 2] },
      { requestId: 'r' },
    );

    // Assess
    expect(verifyGcsV4Url(get.url, 'GET', {}, createPublicKey(key.private_key))).toEqual({
      valid: true,
      email: key.client_email,
    });
    expect(get.url).toContain('X-Goog-Expires=600&');
    expect(fake.calls.length).toBe(callsBefore);
    expect(get.url).not.toContain('PRIVATE');
    // Multipart part URLs too: signed locally, partNumber and uploadId in the signed query.
    expect(parts.map((part) => part.part_number)).toEqual([1, 2]);
    for (const part of parts) {
      expect(verifyGcsV4Url(part.url, 'PUT', {}, createPublicKey(key.private_key)).valid).toBe(true);
      expect(new URL(part.url).searchParams.get('uploadId')).toBe('upload-1');
      expect(new URL(part.url).searchParams.get('partNumber')).toBe(String(part.part_number));
    }
  });

  it("answers 502 credentials_rejected when the broker may not sign as the bucket's account", async () => {
    // Prepare
    const bucket = uniqueName('gcs-denied');
    const account = `${bucket}@gen3-project.iam.gserviceaccount.com`;
    fake.googleManagedAccount(account);
    const service = await serviceWith([
      {
        bucket_name: bucket,
        provider: 'gcp',
        auth_mode: 'workload_identity',
        gcp_service_account: account,
        allowed_ops: ['download'],
      },
    ]);

    // Act
    const refused = await failure(service.presign(bucket, { key: 'a', method: 'GET' }, { requestId: 'r' }));

    // Assess
    expect(refused).toMatchObject({ code: 'credentials_rejected', status: 502 });
    expect(refused?.message).toContain(`refused to sign as ${account}`);
  });
});
