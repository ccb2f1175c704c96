import { wireBucketAdmin } from '../../../functions/admin/admin-wiring';
import { AdminEnvironmentSchema } from '../../../functions/admin/environment';
import { PresignEnvironmentSchema } from '../../../functions/presign/environment';
import { wirePresignService } from '../../../functions/presign/presign-wiring';
import type { AdminAuditLine } from '../../../functions/shared/admin/bucket-admin';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { minioBucketWithUser } from '../support/admin-bed';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { VaultRoot } from '../support/vault';

/** The error `call` fails with (undefined if it succeeds), caught at once. */
const failure = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (error: Error) => error,
  );

describe('Class: VaultAdministration (the admin core on a real OpenBao and MinIO)', () => {
  const root = VaultRoot.ofRun();
  const context = { requestId: 'req-vault-admin', caller: 'arn:aws:iam::123456789012:role/gen3-admin' };
  let registry: DynamoDbBucketRegistry;
  const audit: AdminAuditLine[] = [];
  let variables: Record<string, string>;

  beforeAll(async () => {
    const tableName = await createRegistryTable(dynamoDb());
    registry = new DynamoDbBucketRegistry(tableName);
    variables = {
      REGISTRY_TABLE_NAME: tableName,
      FENCE_SECRETS_BACKEND: 'vault',
      VAULT_ADDR: root.address,
      VAULT_AUTH_METHOD: 'token',
      VAULT_TOKEN: root.rootToken,
    };
  });

  /** The admin core and the presign service as their Lambdas wire them, from the environment. */
  const admin = () =>
    wireBucketAdmin(readEnvironment(AdminEnvironmentSchema, variables), {
      audit: (line) => audit.push(line),
      registry,
    });
  const presign = () =>
    wirePresignService(readEnvironment(PresignEnvironmentSchema, variables), { registry }).service;

  async function putAndGet(bucket: string, body: string): Promise<string> {
    const service = presign();
    const key = `hello-${crypto.randomUUID()}.txt`;
    const put = await service.presign(bucket, { key, method: 'PUT' }, { requestId: 'r' });
    expect((await fetch(put.url, { method: 'PUT', body })).status).toBe(200);
    const get = await service.presign(bucket, { key, method: 'GET' }, { requestId: 'r' });
    return (await fetch(get.url)).text();
  }

  it('registers with create_secret: the keys go to KV v2 under the prefix, tagged; presigning reads them from Vault', async () => {
    // Prepare
    const store = await minioBucketWithUser();

    // Act
    const record = await admin().register(
      {
        bucket_name: store.bucket,
        provider: 'minio',
        auth_mode: 'static',
        secrets_backend: 'vault',
        endpoint: store.endpoint,
        allowed_ops: ['download', 'upload'],
        create_secret: true,
        secret: { access_key_id: store.accessKey, secret_access_key: store.secretKey },
      },
      context,
    );

    // Assess
    const path = `gen3/fence/minio/${store.bucket}`;
    expect(record).toMatchObject({ secrets_backend: 'vault', secret_ref: `secret/${path}`, revision: 1 });
    const metadata = (await root.call('GET', `secret/metadata/${path}`)).body.data;
    expect(metadata.custom_metadata).toMatchObject({
      'fence-bucket-broker:bucket': store.bucket,
      'fence-bucket-broker:created-by': context.caller,
    });
    expect((await root.call('GET', `secret/data/${path}`)).body.data.data).toEqual({
      access_key_id: store.accessKey,
      secret_access_key: store.secretKey,
    });
    expect(await putAndGet(store.bucket, 'from vault')).toBe('from vault');
    expect(JSON.stringify([record, audit])).not.toContain(store.secretKey);
  }, 60_000);

  it('registers by secret_ref with a version pin, and refuses pins to deleted versions, missing secrets and refs outside the prefix', async () => {
    // Prepare
    const store = await minioBucketWithUser();
    const path = `gen3/fence/minio/${store.bucket}`;
    const keys = { access_key_id: store.accessKey, secret_access_key: store.secretKey };
    await root.writeSecret(path, keys);
    await root.writeSecret(path, { access_key_id: 'deleted-key', secret_access_key: 'x' });
    await root.writeSecret(path, keys);
    await root.call('POST', `secret/delete/${path}`, { versions: [2] });
    await root.writeSecret(`outside/${store.bucket}`, keys);
    const registration = (changes: Record<string, unknown>) => ({
      bucket_name: store.bucket,
      provider: 'minio',
      auth_mode: 'static',
      secrets_backend: 'vault',
      secret_ref: `secret/${path}`,
      endpoint: store.endpoint,
      allowed_ops: ['download', 'upload'],
      ...changes,
    });

    // Act
    const deletedPin = await failure(admin().register(registration({ secret_version: '2' }), context));
    const missing = await failure(
      admin().register(registration({ secret_ref: `secret/${path}-missing` }), context),
    );
    const outside = await failure(
      admin().register(registration({ secret_ref: `secret/outside/${store.bucket}` }), context),
    );
    const record = await admin().register(registration({ secret_version: '1' }), context);

    // Assess
    expect(deletedPin).toMatchObject({ code: 'invalid_secret' });
    expect(missing).toMatchObject({ code: 'unknown_secret' });
    expect(outside).toMatchObject({ code: 'invalid_secret' });
    expect(record).toMatchObject({ secret_ref: `secret/${path}`, secret_version: '1' });
    expect(await putAndGet(store.bucket, 'pinned')).toBe('pinned');
  }, 60_000);

  it('refuses a create_secret payload of the wrong shape with 400 invalid_secret before writing anything to KV', async () => {
    // Prepare: a GCP bucket's key "file" that is not JSON at all.
    const bucket = `gcp-shape-${crypto.randomUUID().slice(0, 8)}`;

    // Act
    const rejected = await failure(
      admin().register(
        {
          bucket_name: bucket,
          provider: 'gcp',
          auth_mode: 'static',
          secrets_backend: 'vault',
          allowed_ops: ['download'],
          create_secret: true,
          secret: { service_account_key_json: 'not a key file' },
        },
        context,
        { validate: false },
      ),
    );

    // Assess: KV v2 has no metadata at the path (no version, not even a deleted one).
    expect(rejected).toMatchObject({ code: 'invalid_secret', status: 400 });
    expect(rejected?.message).toBe(
      `secret gen3/fence/gcp/${bucket}: field "service_account_key_json" is not valid JSON`,
    );
    expect((await root.call('GET', `secret/metadata/gen3/fence/gcp/${bucket}`)).status).toBe(404);
    expect(await registry.getByName(bucket)).toBeUndefined();
  }, 60_000);

  it('deletes (softly) the secret of a registration that failed, refuses a second create and rotation', async () => {
    // Prepare
    const store = await minioBucketWithUser();
    const path = `gen3/fence/minio/${store.bucket}`;
    const body = (secretKey: string) => ({
      bucket_name: store.bucket,
      provider: 'minio',
      auth_mode: 'static',
      secrets_backend: 'vault',
      endpoint: store.endpoint,
      allowed_ops: ['download'],
      create_secret: true,
      secret: { access_key_id: store.accessKey, secret_access_key: secretKey },
    });

    // Act
    const rejected = await failure(admin().register(body('not-the-key'), context));
    const afterRejection = await root.call('GET', `secret/metadata/${path}`);
    await root.call('DELETE', `secret/metadata/${path}`);
    await root.writeSecret(path, { access_key_id: 'someone', secret_access_key: 'else' });
    const taken = await failure(admin().register(body(store.secretKey), context));
    await root.call('DELETE', `secret/metadata/${path}`);
    await admin().register(body(store.secretKey), context);
    const rotation = await failure(admin().rotate(store.bucket, context));

    // Assess
    expect(rejected).toMatchObject({ code: 'credentials_rejected' });
    expect(afterRejection.body.data.versions['1'].deletion_time).not.toBe('');
    expect(taken).toMatchObject({ code: 'secret_exists' });
    expect(rotation).toMatchObject({ code: 'rotation_not_configured' });
    expect(JSON.stringify(audit)).not.toContain(store.secretKey);
  }, 60_000);
});
