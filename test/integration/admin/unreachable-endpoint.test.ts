import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { StoreUnavailableError } from '../../../functions/shared/errors';
import { probeStoreBucket } from '../../../functions/shared/probes/bucket-access-probe';
import { freePort } from '../services/process';
import { adminBed, minioBucketWithUser } from '../support/admin-bed';
import { secretsManager } from '../support/aws';
import { HungServer } from '../support/hung-server';

const sm = secretsManager();

/** A MinIO bucket, its keys in Secrets Manager under the prefix: what an operator registers. */
async function registrable() {
  const store = await minioBucketWithUser();
  const secretRef = `gen3/fence/minio/${store.bucket}`;
  await sm.send(
    new CreateSecretCommand({
      Name: secretRef,
      SecretString: JSON.stringify({ access_key_id: store.accessKey, secret_access_key: store.secretKey }),
    }),
  );
  return {
    store,
    registration: {
      bucket_name: store.bucket,
      provider: 'minio',
      auth_mode: 'static',
      secrets_backend: 'aws_sm',
      secret_ref: secretRef,
      endpoint: store.endpoint,
      allowed_ops: ['download', 'upload'],
    },
  };
}

describe('Class: BucketAdmin, the registration proof meeting an endpoint that cannot be reached', () => {
  let bed: Awaited<ReturnType<typeof adminBed>>;
  let hung: HungServer;

  beforeAll(async () => {
    bed = await adminBed();
    hung = await HungServer.start();
  });

  afterAll(async () => {
    await hung.close();
  });

  const closedPort = async () => `http://127.0.0.1:${await freePort()}`;

  it.each([
    ['a closed port', closedPort, 'the connection was refused'],
    ['a name that does not resolve', async () => 'http://fbb-no-such-store.invalid:9000', 'does not resolve'],
    [
      'an https endpoint whose TLS handshake fails (MinIO answers plain http)',
      async () => (await minioBucketWithUser()).endpoint.replace('http://', 'https://'),
      'the TLS handshake failed',
    ],
  ])(
    'refuses a registration at %s with 400 store_unreachable naming endpoint',
    async (_what, endpointOf, reason) => {
      // Prepare
      const { registration } = await registrable();
      const endpoint = await endpointOf();

      // Act
      const attempt = bed.admin.register({ ...registration, endpoint }, bed.context);

      // Assess: the operator's input, not a retry-able outage; nothing was saved.
      await expect(attempt).rejects.toMatchObject({
        code: 'store_unreachable',
        status: 400,
        field: 'endpoint',
        transient: false,
      });
      await expect(attempt).rejects.toThrow(reason);
      expect(await bed.registry.getByName(registration.bucket_name)).toBeUndefined();
      expect(bed.audit.at(-1)).toMatchObject({
        action: 'register',
        outcome: 'store_unreachable',
        status: 400,
      });
    },
    60_000,
  );

  it('refuses a registration whose store never answers (timeout) with 400 store_unreachable', async () => {
    // Prepare
    const { registration } = await registrable();

    // Act
    const attempt = bed.admin.register({ ...registration, endpoint: hung.url }, bed.context);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'store_unreachable', status: 400 });
    await expect(attempt).rejects.toThrow('nothing answered');
    expect(hung.connections).toBeGreaterThan(0);
  }, 60_000);

  it('refuses a PATCH to an endpoint that cannot be reached, and keeps the record as it was', async () => {
    // Prepare
    const { registration, store } = await registrable();
    const record = await bed.admin.register(registration, bed.context);

    // Act
    const attempt = bed.admin.patch(
      record.id,
      { revision: record.revision, endpoint: await closedPort() },
      bed.context,
    );

    // Assess
    await expect(attempt).rejects.toMatchObject({
      code: 'store_unreachable',
      status: 400,
      field: 'endpoint',
    });
    expect(await bed.registry.getById(record.id)).toMatchObject({ revision: 1, endpoint: store.endpoint });
  }, 60_000);

  it('refuses to resume a suspended bucket whose endpoint cannot be reached', async () => {
    // Prepare: suspended, then moved (a suspended bucket is not proven).
    const { registration } = await registrable();
    const record = await bed.admin.register(registration, bed.context);
    const suspended = await bed.admin.patch(record.id, { revision: 1, status: 'suspended' }, bed.context);
    const moved = await bed.admin.patch(
      record.id,
      { revision: suspended.revision, endpoint: await closedPort() },
      bed.context,
    );

    // Act
    const attempt = bed.admin.patch(record.id, { revision: moved.revision, status: 'active' }, bed.context);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'store_unreachable', status: 400 });
    expect(await bed.registry.getById(record.id)).toMatchObject({ status: 'suspended' });
  }, 60_000);

  it('reports the unreachable store as a failed bucket_access check on validate', async () => {
    // Prepare
    const { registration } = await registrable();
    const record = await bed.admin.register(registration, bed.context);
    const suspended = await bed.admin.patch(record.id, { revision: 1, status: 'suspended' }, bed.context);
    await bed.admin.patch(
      record.id,
      { revision: suspended.revision, endpoint: await closedPort() },
      bed.context,
    );

    // Act
    const report = await bed.admin.validate(record.id, bed.context);

    // Assess
    expect(report.ok).toBe(false);
    expect(report.checks.find((check) => check.name === 'bucket_access')?.message).toMatch(
      /^store_unreachable: /,
    );
  }, 60_000);

  it("keeps the probe's own answer (rotation, drift) a transient 503 store_unavailable", async () => {
    // Act: what rotation's testSecret calls, at a closed port.
    const attempt = probeStoreBucket(
      { endpoint: new URL(await closedPort()), bucket: 'any', region: 'us-east-1', pathStyle: true },
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret-key' },
    );

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(attempt).rejects.toMatchObject({ status: 503, transient: true });
  }, 30_000);
});
