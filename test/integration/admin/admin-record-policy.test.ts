import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { BucketAdmin } from '../../../functions/shared/admin/bucket-admin';
import { AwsSecretsManagerAdministration } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-administration';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { adminBed, minioBucketWithUser } from '../support/admin-bed';
import { secretsManager } from '../support/aws';

const sm = secretsManager();

/** A MinIO bucket, its working keys in Secrets Manager under the prefix, and the registration body. */
async function storeWithSecret() {
  const store = await minioBucketWithUser();
  const created = await sm.send(
    new CreateSecretCommand({
      Name: `gen3/fence/minio/${store.bucket}`,
      SecretString: JSON.stringify({ access_key_id: store.accessKey, secret_access_key: store.secretKey }),
    }),
  );
  const secretArn = String(created.ARN);
  const registration = {
    bucket_name: store.bucket,
    provider: 'minio',
    auth_mode: 'static',
    secrets_backend: 'aws_sm',
    secret_ref: secretArn,
    endpoint: store.endpoint,
    allowed_ops: ['download'],
  };
  return { store, secretArn, registration };
}

describe('Class: BucketAdmin record policy and resume (emulated Secrets Manager and DynamoDB; real MinIO)', () => {
  let bed: Awaited<ReturnType<typeof adminBed>>;
  /** The same registry and backends under a deployment cap of 900 s. */
  let capped: BucketAdmin;

  beforeAll(async () => {
    bed = await adminBed();
    capped = new BucketAdmin({
      registry: bed.registry,
      backends: {
        aws_sm: { read: new AwsSecretsManagerResolver(), admin: new AwsSecretsManagerAdministration() },
      },
      roles: new AssumedRoleCredentials(),
      secretsPrefix: 'gen3/fence/',
      maxExpiresInCap: 900,
      audit: () => undefined,
    });
  });

  describe("max_expires_in: the deployment's cap", () => {
    it('refuses a registration above the cap (400 invalid_request, field max_expires_in) and saves nothing', async () => {
      // Prepare
      const { store, registration } = await storeWithSecret();

      // Act
      const refused = capped.register({ ...registration, max_expires_in: 3600 }, bed.context);

      // Assess
      await expect(refused).rejects.toMatchObject({
        code: 'invalid_request',
        status: 400,
        field: 'max_expires_in',
      });
      expect(await bed.registry.getByName(store.bucket)).toBeUndefined();
    }, 30_000);

    it('gives a registration that leaves max_expires_in out the cap when it is below the hour, and refuses a patch above it', async () => {
      // Prepare
      const { registration } = await storeWithSecret();

      // Act
      const record = await capped.register(registration, bed.context);
      const patched = capped.patch(
        record.id,
        { revision: record.revision, max_expires_in: 901 },
        bed.context,
      );

      // Assess
      expect(record.max_expires_in).toBe(900);
      await expect(patched).rejects.toMatchObject({ code: 'invalid_request', field: 'max_expires_in' });
      expect(await bed.registry.getById(record.id)).toEqual(record);
    }, 30_000);

    it('still suspends a bucket whose record the cap now refuses, and refuses any other change to it', async () => {
      // Prepare: registered under the default cap of an hour, then the deployment lowered it
      const { registration } = await storeWithSecret();
      const record = await bed.admin.register({ ...registration, max_expires_in: 3600 }, bed.context);

      // Act
      const suspended = await capped.patch(
        record.id,
        { revision: record.revision, status: 'suspended' },
        bed.context,
      );
      const widened = capped.patch(
        record.id,
        { revision: suspended.revision, allowed_ops: ['download', 'upload'] },
        bed.context,
      );

      // Assess
      expect(suspended.status).toBe('suspended');
      await expect(widened).rejects.toMatchObject({ code: 'invalid_request', field: 'max_expires_in' });
    }, 30_000);
  });

  describe('resume re-runs the registration proof', () => {
    it('refuses to resume a bucket whose keys no longer work (502 credentials_rejected), leaves it suspended, and resumes once they work again', async () => {
      // Prepare: registered and suspended, then its secret's current keys broken
      const { store, secretArn, registration } = await storeWithSecret();
      const record = await bed.admin.register(registration, bed.context);
      const suspended = await bed.admin.patch(
        record.id,
        { revision: record.revision, status: 'suspended' },
        bed.context,
      );
      await sm.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          SecretString: JSON.stringify({ access_key_id: store.accessKey, secret_access_key: 'not-the-key' }),
        }),
      );

      // Act
      const refused = bed.admin.patch(
        record.id,
        { revision: suspended.revision, status: 'active' },
        bed.context,
      );

      // Assess
      await expect(refused).rejects.toMatchObject({ code: 'credentials_rejected', status: 502 });
      expect(await bed.registry.getById(record.id)).toMatchObject({
        status: 'suspended',
        revision: suspended.revision,
      });
      const line = bed.audit.filter((entry) => entry.bucket_id === record.id).at(-1);
      expect(line).toMatchObject({ action: 'patch', outcome: 'credentials_rejected', status: 502 });
      expect(JSON.stringify(bed.audit)).not.toContain(store.secretKey);

      // And: fixed, it resumes
      await sm.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          SecretString: JSON.stringify({
            access_key_id: store.accessKey,
            secret_access_key: store.secretKey,
          }),
        }),
      );
      const resumed = await bed.admin.patch(
        record.id,
        { revision: suspended.revision, status: 'active' },
        bed.context,
      );
      expect(resumed).toMatchObject({ status: 'active', revision: suspended.revision + 1 });
    }, 60_000);

    it('refuses to resume a bucket whose secret is gone (404 unknown_secret)', async () => {
      // Prepare: a record whose secret ref names nothing (written to the table as a sync would)
      const { registration } = await storeWithSecret();
      const record = await bed.registry.create({
        ...registration,
        bucket_name: `${registration.bucket_name}-gone`,
        secret_ref: 'gen3/fence/minio/never-created',
        status: 'suspended',
      } as Parameters<typeof bed.registry.create>[0]);

      // Act
      const refused = bed.admin.patch(
        record.id,
        { revision: record.revision, status: 'active' },
        bed.context,
      );

      // Assess
      await expect(refused).rejects.toMatchObject({ code: 'unknown_secret', status: 404 });
      expect((await bed.registry.getById(record.id))?.status).toBe('suspended');
    }, 30_000);
  });
});
