import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { SecretResolvers } from '../../../functions/shared/backends/backend-registry';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import { CachingSecretResolver } from '../../../functions/shared/secrets/caching-secret-resolver';
import { SigV4Presigner } from '../../../functions/shared/signing/sigv4-presigner';
import { adminBed, minioBucketWithUser } from '../support/admin-bed';
import { secretsManager, uniqueName } from '../support/aws';

const sm = secretsManager();

function presignServiceOver(registry: ConstructorParameters<typeof CachedBucketLookup>[0]): PresignService {
  const secrets = new SecretResolvers(
    new Map([['aws_sm', new CachingSecretResolver(new AwsSecretsManagerResolver())]]),
  );
  return new PresignService({
    buckets: new CachedBucketLookup(registry, { ttlMs: 1 }),
    credentials: new BucketCredentialsService(secrets, new AssumedRoleCredentials()),
    presigner: new SigV4Presigner(),
    multipart: new MultipartStoreClient(),
  });
}

async function putAndGet(service: PresignService, bucket: string): Promise<string> {
  const key = `hello-${Date.now()}.txt`;
  const put = await service.presign(bucket, { key, method: 'PUT' }, { requestId: 'r' });
  expect((await fetch(put.url, { method: 'PUT', body: 'registered' })).status).toBe(200);
  const get = await service.presign(bucket, { key, method: 'GET' }, { requestId: 'r' });
  return (await fetch(get.url)).text();
}

async function secretNames(prefix: string): Promise<string[]> {
  const answer = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }] }));
  return (answer.SecretList ?? [])
    .filter((secret) => secret.DeletedDate === undefined)
    .map((secret) => String(secret.Name));
}

describe('Class: BucketAdmin (emulated Secrets Manager, STS and DynamoDB; real MinIO)', () => {
  let bed: Awaited<ReturnType<typeof adminBed>>;

  beforeAll(async () => {
    bed = await adminBed();
  });

  it('registers a MinIO bucket by secret_ref; presigned URLs then work', async () => {
    // Prepare
    const store = await minioBucketWithUser();
    const name = `gen3/fence/minio/${store.bucket}`;
    const created = await sm.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({ access_key_id: store.accessKey, secret_access_key: store.secretKey }),
      }),
    );

    // Act
    const record = await bed.admin.register(
      {
        bucket_name: store.bucket,
        provider: 'minio',
        auth_mode: 'static',
        secrets_backend: 'aws_sm',
        secret_ref: name,
        endpoint: store.endpoint,
        allowed_ops: ['download', 'upload'],
      },
      bed.context,
    );

    // Assess
    expect(record).toMatchObject({
      bucket_name: store.bucket,
      secret_ref: created.ARN,
      revision: 1,
      status: 'active',
    });
    expect(await putAndGet(presignServiceOver(bed.registry), store.bucket)).toBe('registered');
    expect(bed.audit.at(-1)).toMatchObject({
      action: 'register',
      bucket: store.bucket,
      secret_ref: created.ARN,
      outcome: 'ok',
    });
    expect(JSON.stringify(bed.audit)).not.toContain(store.secretKey);
  }, 60_000);

  it('registers with create_secret: the keys go to Secrets Manager under the prefix, tagged, and nowhere else', async () => {
    // Prepare
    const store = await minioBucketWithUser();

    // Act
    const record = await bed.admin.register(
      {
        bucket_name: store.bucket,
        provider: 'minio',
        auth_mode: 'static',
        endpoint: store.endpoint,
        allowed_ops: ['download', 'upload'],
        create_secret: true,
        secret: { access_key_id: store.accessKey, secret_access_key: store.secretKey },
      },
      bed.context,
    );

    // Assess
    const described = await sm.send(
      new DescribeSecretCommand({ SecretId: `gen3/fence/minio/${store.bucket}` }),
    );
    expect(record.secret_ref).toBe(described.ARN);
    expect(record.secrets_backend).toBe('aws_sm');
    expect(Object.fromEntries((described.Tags ?? []).map((tag) => [tag.Key, tag.Value]))).toEqual({
      'fence-bucket-broker:bucket': store.bucket,
      'fence-bucket-broker:created-by': bed.context.caller,
    });
    const stored = await sm.send(
      new GetSecretValueCommand({ SecretId: String(described.ARN), VersionStage: 'AWSCURRENT' }),
    );
    expect(JSON.parse(String(stored.SecretString))).toEqual({
      access_key_id: store.accessKey,
      secret_access_key: store.secretKey,
    });
    expect(JSON.stringify(record)).not.toContain(store.secretKey);
    expect(JSON.stringify(bed.audit)).not.toContain(store.secretKey);
    expect(await putAndGet(presignServiceOver(bed.registry), store.bucket)).toBe('registered');
  }, 60_000);

  it('refuses bad keys with 502 credentials_rejected and leaves nothing behind', async () => {
    // Prepare
    const store = await minioBucketWithUser();

    // Act
    const attempt = bed.admin.register(
      {
        bucket_name: store.bucket,
        provider: 'minio',
        auth_mode: 'static',
        endpoint: store.endpoint,
        allowed_ops: ['download'],
        create_secret: true,
        secret: { access_key_id: store.accessKey, secret_access_key: `${store.secretKey}-wrong` },
      },
      bed.context,
    );

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'credentials_rejected', status: 502 });
    expect(await bed.registry.getByName(store.bucket)).toBeUndefined();
    expect(await secretNames(`gen3/fence/minio/${store.bucket}`)).toEqual([]);
    expect(bed.audit.at(-1)).toMatchObject({
      action: 'register',
      outcome: 'credentials_rejected',
      status: 502,
    });
  }, 60_000);

  it.each([
    ['outside the prefix', 'elsewhere/', 'invalid_secret', 400],
    ['under the admin sub-path', 'gen3/fence/admin/', 'invalid_secret', 400],
  ])(
    'refuses a secret %s with %s and saves nothing',
    async (_case, prefix, code, status) => {
      // Prepare
      const store = await minioBucketWithUser();
      const name = `${prefix}${uniqueName('s')}`;
      await sm.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: JSON.stringify({
            access_key_id: store.accessKey,
            secret_access_key: store.secretKey,
          }),
        }),
      );

      // Act + Assess
      await expect(
        bed.admin.register(
          {
            bucket_name: store.bucket,
            provider: 'minio',
            auth_mode: 'static',
            secrets_backend: 'aws_sm',
            secret_ref: name,
            endpoint: store.endpoint,
            allowed_ops: ['download'],
          },
          bed.context,
        ),
      ).rejects.toMatchObject({ code, status });
      expect(await bed.registry.getByName(store.bucket)).toBeUndefined();
    },
    60_000,
  );

  it('refuses a missing secret (404 unknown_secret) and a mis-shaped one (400 invalid_secret naming the field)', async () => {
    // Prepare
    const store = await minioBucketWithUser();
    const misshaped = `gen3/fence/minio/${uniqueName('shape')}`;
    await sm.send(
      new CreateSecretCommand({
        Name: misshaped,
        SecretString: JSON.stringify({ access_key_id: store.accessKey, secret_key: store.secretKey }),
      }),
    );
    const registration = (secretRef: string) => ({
      bucket_name: store.bucket,
      provider: 'minio',
      auth_mode: 'static',
      secrets_backend: 'aws_sm',
      secret_ref: secretRef,
      endpoint: store.endpoint,
      allowed_ops: ['download'],
    });

    // Act + Assess
    await expect(
      bed.admin.register(registration(`gen3/fence/minio/${uniqueName('missing')}`), bed.context),
    ).rejects.toMatchObject({
      code: 'unknown_secret',
      status: 404,
    });
    const shaped = bed.admin.register(registration(misshaped), bed.context);
    await expect(shaped).rejects.toMatchObject({ code: 'invalid_secret', status: 400 });
    await expect(shaped).rejects.toThrow(/secret_access_key/);
    await expect(shaped).rejects.not.toThrow(store.secretKey);
    expect(await bed.registry.getByName(store.bucket)).toBeUndefined();
  }, 60_000);

  it.each([
    ['validated', true],
    ['not validated', false],
  ])(
    'refuses a create_secret payload of the wrong shape (%s) with 400 invalid_secret before creating any secret',
    async (_case, validate) => {
      // Prepare: a GCP bucket's key "file" that is JSON but no service-account key.
      const bucket = uniqueName('gcp-shape');
      const canary = `canary-${uniqueName('k')}`;

      // Act
      const attempt = bed.admin.register(
        {
          bucket_name: bucket,
          provider: 'gcp',
          auth_mode: 'static',
          secrets_backend: 'aws_sm',
          allowed_ops: ['download'],
          create_secret: true,
          secret: {
            service_account_key_json: JSON.stringify({
              client_email: 'x@p.iam.gserviceaccount.com',
              key: canary,
            }),
          },
        },
        bed.context,
        { validate },
      );

      // Assess: no secret at all, not even one scheduled for deletion (which would hold the name).
      await expect(attempt).rejects.toMatchObject({ code: 'invalid_secret', status: 400 });
      await expect(attempt).rejects.toThrow(
        `secret gen3/fence/gcp/${bucket}: field "service_account_key_json" must be a service-account key with client_email and private_key`,
      );
      await expect(
        sm.send(new DescribeSecretCommand({ SecretId: `gen3/fence/gcp/${bucket}` })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      expect(await bed.registry.getByName(bucket)).toBeUndefined();
      expect(JSON.stringify(bed.audit)).not.toContain(canary);
      expect(bed.audit.at(-1)).toMatchObject({ action: 'register', outcome: 'invalid_secret', status: 400 });
    },
    60_000,
  );

  it('registers a role bucket: AssumeRole with the external id (emulated STS), then the bucket is seen', async () => {
    // Prepare
    const bucket = uniqueName('role-bucket');
    await new S3Client({ forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket }));

    // Act
    const record = await bed.admin.register(
      {
        bucket_name: bucket,
        provider: 'aws',
        auth_mode: 'role',
        role_arn: 'arn:aws:iam::123456789012:role/gen3-bucket-access',
        external_id: 'gen3-commons',
        region: 'us-east-1',
        allowed_ops: ['download'],
      },
      bed.context,
    );
    const missing = bed.admin.register(
      {
        bucket_name: uniqueName('no-such'),
        provider: 'aws',
        auth_mode: 'role',
        role_arn: 'arn:aws:iam::123456789012:role/gen3-bucket-access',
        allowed_ops: ['download'],
      },
      bed.context,
    );

    // Assess
    expect(record).toMatchObject({ auth_mode: 'role', secret_ref: null, revision: 1 });
    await expect(missing).rejects.toMatchObject({ code: 'credentials_rejected' });
  }, 60_000);

  describe('patch, rotate, validate, list and get', () => {
    let store: Awaited<ReturnType<typeof minioBucketWithUser>>;
    let secretArn: string;
    let id: string;

    beforeAll(async () => {
      store = await minioBucketWithUser();
      const created = await sm.send(
        new CreateSecretCommand({
          Name: `gen3/fence/minio/${store.bucket}`,
          SecretString: JSON.stringify({
            access_key_id: store.accessKey,
            secret_access_key: store.secretKey,
          }),
        }),
      );
      secretArn = String(created.ARN);
      const record = await bed.admin.register(
        {
          bucket_name: store.bucket,
          provider: 'minio',
          auth_mode: 'static',
          secrets_backend: 'aws_sm',
          secret_ref: secretArn,
          endpoint: store.endpoint,
          allowed_ops: ['download'],
        },
        bed.context,
      );
      id = record.id;
    }, 60_000);

    it('refuses a stale revision with 409 revision_conflict and changes nothing', async () => {
      const before = await bed.admin.get(id);
      await expect(
        bed.admin.patch(id, { revision: before.revision + 5, status: 'suspended' }, bed.context),
      ).rejects.toMatchObject({
        code: 'revision_conflict',
        status: 409,
      });
      expect(await bed.admin.get(id)).toEqual(before);
    });

    it('suspends and resumes by revision; get works by id and by name', async () => {
      const before = await bed.admin.get(store.bucket);
      const suspended = await bed.admin.patch(
        id,
        { revision: before.revision, status: 'suspended' },
        bed.context,
      );
      const resumed = await bed.admin.patch(
        store.bucket,
        { revision: suspended.revision, status: 'active' },
        bed.context,
      );
      expect(suspended).toMatchObject({ status: 'suspended', revision: before.revision + 1 });
      expect(resumed).toMatchObject({ status: 'active', revision: before.revision + 2 });
      expect(
        bed.audit
          .filter((line) => line.action === 'patch' && line.bucket_id === id)
          .map((line) => line.changes),
      ).toContainEqual(['status']);
    });

    it('pins to an existing label, refuses a pin that does not exist, and unpins', async () => {
      // Prepare: a second version labelled BLUE, holding the same working keys.
      const put = await sm.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          SecretString: JSON.stringify({
            access_key_id: store.accessKey,
            secret_access_key: store.secretKey,
          }),
          VersionStages: ['BLUE'],
        }),
      );
      const current = await bed.admin.get(id);

      // Act
      const missing = bed.admin.patch(
        id,
        { revision: current.revision, secret_version: 'GREEN' },
        bed.context,
      );
      await expect(missing).rejects.toMatchObject({ code: 'invalid_secret', status: 400 });
      const pinned = await bed.admin.patch(
        id,
        { revision: current.revision, secret_version: 'BLUE' },
        bed.context,
      );
      const byId = await bed.admin.patch(
        id,
        { revision: pinned.revision, secret_version: String(put.VersionId) },
        bed.context,
      );
      const unpinned = await bed.admin.patch(
        id,
        { revision: byId.revision, secret_version: null },
        bed.context,
      );

      // Assess
      expect(pinned.secret_version).toBe('BLUE');
      expect(byId.secret_version).toBe(put.VersionId);
      expect(unpinned.secret_version).toBeNull();
    }, 30_000);

    it('refuses to pin a version whose keys do not work', async () => {
      await sm.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          SecretString: JSON.stringify({ access_key_id: store.accessKey, secret_access_key: 'not-the-key' }),
          VersionStages: ['BROKEN'],
        }),
      );
      const current = await bed.admin.get(id);
      await expect(
        bed.admin.patch(id, { revision: current.revision, secret_version: 'BROKEN' }, bed.context),
      ).rejects.toMatchObject({
        code: 'credentials_rejected',
      });
      expect((await bed.admin.get(id)).secret_version).toBe(current.secret_version);
    }, 30_000);

    it('validates: every check passes, then the secret check fails once its keys stop working', async () => {
      const good = await bed.admin.validate(id, bed.context);
      expect(good).toMatchObject({ ok: true, bucket: store.bucket });
      expect(good.checks.map((check) => check.name)).toEqual([
        'record',
        'secret',
        'secret_shape',
        'bucket_access',
      ]);

      await sm.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          SecretString: JSON.stringify({ access_key_id: store.accessKey, secret_access_key: 'revoked-key' }),
        }),
      );
      const bad = await bed.admin.validate(id, bed.context);
      expect(bad.ok).toBe(false);
      expect(bad.checks.find((check) => check.name === 'bucket_access')).toMatchObject({ ok: false });
      expect(bad.checks.find((check) => check.name === 'bucket_access')?.message).toMatch(
        /^credentials_rejected/,
      );
      // Put the working keys back for the other tests.
      await sm.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          SecretString: JSON.stringify({
            access_key_id: store.accessKey,
            secret_access_key: store.secretKey,
          }),
        }),
      );
    }, 30_000);

    it('validates a record naming a backend this deployment does not run as a failed secret check, not an error', async () => {
      // Prepare
      const other = await bed.registry.create({
        bucket_name: uniqueName('k8s-bucket'),
        provider: 'minio',
        auth_mode: 'static',
        secrets_backend: 'k8s',
        secret_ref: 'gen3/fence/minio/elsewhere',
        endpoint: store.endpoint,
        allowed_ops: ['download'],
      });

      // Act
      const report = await bed.admin.validate(other.id, bed.context);

      // Assess
      expect(report).toMatchObject({ ok: false, bucket: other.bucket_name });
      expect(report.checks).toEqual([
        { name: 'record', ok: true, message: 'revision 1, active' },
        {
          name: 'secret',
          ok: false,
          message: 'invalid_request: secrets backend k8s is not enabled in this deployment',
        },
      ]);
    });

    it('rotate: a secret without rotation configured answers 409 rotation_not_configured', async () => {
      await expect(bed.admin.rotate(id, bed.context)).rejects.toMatchObject({
        code: 'rotation_not_configured',
        status: 409,
      });
      expect(bed.audit.at(-1)).toMatchObject({ action: 'rotate', outcome: 'rotation_not_configured' });
    });

    it('lists with filters and pages', async () => {
      const suspended = await bed.admin.list({ status: 'suspended' });
      const minio = await bed.admin.list({ provider: 'minio', limit: 1000 });
      expect(suspended.records.every((record) => record.status === 'suspended')).toBe(true);
      expect(minio.records.map((record) => record.bucket_name)).toContain(store.bucket);
      await expect(bed.admin.list({ limit: 0 })).rejects.toMatchObject({
        code: 'invalid_request',
        field: 'limit',
      });
    });
  });

  afterAll(() => {
    // Whatever happened above, no audit line carries a secret key.
    expect(JSON.stringify(bed.audit)).not.toMatch(/canary-[0-9a-f]{32}/);
  });
});
