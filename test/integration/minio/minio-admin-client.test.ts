import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CredentialsRejectedError } from '../../../functions/shared/errors';
import { MadminAlgorithm } from '../../../functions/shared/minio/madmin-crypto';
import {
  MinioAdminClient,
  MinioAdminError,
  type MinioPolicyDocument,
  NO_EXPIRATION,
} from '../../../functions/shared/minio/minio-admin-client';
import { readEndpoints } from '../services/endpoints';
import { minioRootClient, uniqueName } from '../support/aws';

// Each admin answer that carries credentials costs an Argon2id derivation (64 MiB): a few of them
// exceed jest's 5 s default on a loaded machine.
const ADMIN_CALLS_TIMEOUT = 60_000;

describe('Class: MinioAdminClient (real MinIO)', () => {
  const { minio } = readEndpoints();
  const admin = new MinioAdminClient({
    endpoint: minio.endpoint,
    accessKey: minio.rootUser,
    secretKey: minio.rootPassword,
  });
  const key = () => `fbb${randomBytes(6).toString('hex')}`; // 15 characters, within MinIO's 3–20
  const secret = () => randomBytes(24).toString('base64url'); // 32 characters, within 8–40

  it(
    'creates a parent user, attaches a policy, and gives it an access key with exactly our key pair',
    async () => {
      // Prepare
      const parent = uniqueName('fence-parent');
      await admin.addUser(parent, secret());
      await admin.attachPolicies(parent, ['readwrite']);
      await admin.attachPolicies(parent, ['readwrite']); // the same again: not an error
      const bucket = uniqueName('admin');
      await minioRootClient(minio).send(new CreateBucketCommand({ Bucket: bucket }));
      const accessKey = key();
      const secretKey = secret();

      // Act
      await admin.addServiceAccount({
        targetUser: parent,
        accessKey,
        secretKey,
        name: 'rotation',
        description: 'fence-bucket-broker test',
      });
      const info = await admin.infoServiceAccount(accessKey);
      const listed = await admin.listServiceAccounts(parent);
      const asNewKey = minioRootClient({
        endpoint: minio.endpoint,
        rootUser: accessKey,
        rootPassword: secretKey,
      });
      const listing = await asNewKey.send(new ListObjectsV2Command({ Bucket: bucket }));

      // Assess
      expect(info).toMatchObject({ accessKey, parentUser: parent, accountStatus: 'on' });
      expect(listed.map((account) => account.accessKey)).toEqual([accessKey]);
      expect(listing.$metadata.httpStatusCode).toBe(200);
    },
    ADMIN_CALLS_TIMEOUT,
  );

  it(
    'deletes an access key: it stops working and leaves the listing',
    async () => {
      // Prepare
      const parent = uniqueName('fence-parent');
      await admin.addUser(parent, secret());
      await admin.attachPolicies(parent, ['readwrite']);
      const accessKey = key();
      const secretKey = secret();
      await admin.addServiceAccount({ targetUser: parent, accessKey, secretKey });

      // Act
      await admin.deleteServiceAccount(accessKey);
      const listed = await admin.listServiceAccounts(parent);
      const info = admin.infoServiceAccount(accessKey);
      const asDeletedKey = minioRootClient({
        endpoint: minio.endpoint,
        rootUser: accessKey,
        rootPassword: secretKey,
      });

      // Assess
      expect(listed).toEqual([]);
      await expect(info).rejects.toBeInstanceOf(MinioAdminError);
      await expect(asDeletedKey.send(new ListObjectsV2Command({ Bucket: 'anything' }))).rejects.toMatchObject(
        {
          name: 'InvalidAccessKeyId',
        },
      );
    },
    ADMIN_CALLS_TIMEOUT,
  );

  it(
    'refuses a second access key with the same name, with MinIO’s own error code',
    async () => {
      // MinIO answers XMinioIAMServiceAccountNotAllowed here; the rotation step treats it by looking the key up.
      const parent = uniqueName('fence-parent');
      await admin.addUser(parent, secret());
      const accessKey = key();
      await admin.addServiceAccount({ targetUser: parent, accessKey, secretKey: secret() });
      const again = admin.addServiceAccount({ targetUser: parent, accessKey, secretKey: secret() });
      await expect(again).rejects.toBeInstanceOf(MinioAdminError);
      await expect(again).rejects.toMatchObject({ code: expect.stringMatching(/^XMinio/) });
    },
    ADMIN_CALLS_TIMEOUT,
  );

  it(
    'encrypts requests with Argon2id too, which MinIO also accepts',
    async () => {
      const argon = new MinioAdminClient({
        endpoint: minio.endpoint,
        accessKey: minio.rootUser,
        secretKey: minio.rootPassword,
        requestAlgorithm: MadminAlgorithm.Argon2idAesGcm,
      });
      const parent = uniqueName('fence-parent');
      await argon.addUser(parent, secret());
      const accessKey = key();
      await argon.addServiceAccount({ targetUser: parent, accessKey, secretKey: secret() });
      expect((await argon.infoServiceAccount(accessKey)).parentUser).toBe(parent);
    },
    ADMIN_CALLS_TIMEOUT,
  );

  it(
    'reports a wrong admin credential as credentials_rejected',
    async () => {
      const wrong = new MinioAdminClient({
        endpoint: minio.endpoint,
        accessKey: minio.rootUser,
        secretKey: 'not-the-root-password',
      });
      await expect(wrong.listServiceAccounts('anyone')).rejects.toBeInstanceOf(CredentialsRejectedError);
    },
    ADMIN_CALLS_TIMEOUT,
  );

  it(
    'updates an access key: description and expiration change; its inline policy stays only when sent again',
    async () => {
      // Prepare
      const parent = uniqueName('fence-parent');
      await admin.addUser(parent, secret());
      await admin.attachPolicies(parent, ['readwrite']);
      const [mine, other] = [uniqueName('mine'), uniqueName('other')];
      for (const bucket of [mine, other])
        await minioRootClient(minio).send(new CreateBucketCommand({ Bucket: bucket }));
      const policy: MinioPolicyDocument = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [`arn:aws:s3:::${mine}`] }],
      };
      const accessKey = key();
      const secretKey = secret();
      await admin.addServiceAccount({
        targetUser: parent,
        accessKey,
        secretKey,
        description: 'before',
        policy,
      });
      const asKey = minioRootClient({
        endpoint: minio.endpoint,
        rootUser: accessKey,
        rootPassword: secretKey,
      });
      const canList = (bucket: string) =>
        asKey.send(new ListObjectsV2Command({ Bucket: bucket })).then(
          () => true,
          () => false,
        );
      const expiration = new Date(Date.now() + 20 * 60_000);

      // Act + Assess: with the policy sent again, the key stays narrowed.
      await admin.updateServiceAccount(accessKey, {
        policy,
        description: 'after',
        expiration: expiration.toISOString(),
      });
      const [listed] = await admin.listServiceAccounts(parent);
      expect(listed).toMatchObject({ description: 'after', impliedPolicy: false });
      expect(Math.abs(Date.parse(listed?.expiration ?? '') - expiration.getTime())).toBeLessThan(1000);
      expect([await canList(mine), await canList(other)]).toEqual([true, false]);
      // NO_EXPIRATION removes the expiration; MinIO refuses one less than 15 minutes ahead.
      await admin.updateServiceAccount(accessKey, { policy, expiration: NO_EXPIRATION });
      expect((await admin.listServiceAccounts(parent))[0]?.expiration).toBe(NO_EXPIRATION);
      await expect(
        admin.updateServiceAccount(accessKey, {
          policy,
          expiration: new Date(Date.now() + 5 * 60_000).toISOString(),
        }),
      ).rejects.toBeInstanceOf(MinioAdminError);
      // Why `policy` is not optional: an update without it widens the key to all the parent may do.
      await admin.updateServiceAccount(accessKey, { policy: null, description: 'widened' });
      expect((await admin.listServiceAccounts(parent))[0]?.impliedPolicy).toBe(true);
      expect(await canList(other)).toBe(true);
    },
    ADMIN_CALLS_TIMEOUT,
  );

  it(
    'adds a named policy that MinIO validates, and refuses an admin action it does not know',
    async () => {
      // Prepare
      const name = uniqueName('fbb-policy');
      const user = uniqueName('fbb-user');
      await admin.addUser(user, secret());

      // Act
      await admin.addPolicy(name, {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['admin:ListServiceAccounts'] }],
      });
      await admin.attachPolicies(user, [name]);
      const unknown = admin.addPolicy(uniqueName('fbb-bad'), {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['admin:GetServiceAccount'] }],
      });

      // Assess
      await expect(unknown).rejects.toMatchObject({ code: 'XMinioMalformedIAMPolicy' });
    },
    ADMIN_CALLS_TIMEOUT,
  );
});
