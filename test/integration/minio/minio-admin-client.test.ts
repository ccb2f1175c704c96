import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CredentialsRejectedError } from '../../../functions/shared/errors';
import { MadminAlgorithm } from '../../../functions/shared/minio/madmin-crypto';
import { MinioAdminClient, MinioAdminError } from '../../../functions/shared/minio/minio-admin-client';
import { readEndpoints } from '../services/endpoints';
import { minioRootClient, uniqueName } from '../support/aws';

describe('Class: MinioAdminClient (real MinIO)', () => {
  const { minio } = readEndpoints();
  const admin = new MinioAdminClient({
    endpoint: minio.endpoint,
    accessKey: minio.rootUser,
    secretKey: minio.rootPassword,
  });
  const key = () => `fbb${randomBytes(6).toString('hex')}`; // 15 characters, within MinIO's 3–20
  const secret = () => randomBytes(24).toString('base64url'); // 32 characters, within 8–40

  it('creates a parent user, attaches a policy, and gives it an access key with exactly our key pair', async () => {
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
  });

  it('deletes an access key: it stops working and leaves the listing', async () => {
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
    await expect(asDeletedKey.send(new ListObjectsV2Command({ Bucket: 'anything' }))).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
    });
  });

  it('refuses a second access key with the same name, with MinIO’s own error code', async () => {
    // MinIO answers XMinioIAMServiceAccountNotAllowed here; the rotation step treats it by looking the key up.
    const parent = uniqueName('fence-parent');
    await admin.addUser(parent, secret());
    const accessKey = key();
    await admin.addServiceAccount({ targetUser: parent, accessKey, secretKey: secret() });
    const again = admin.addServiceAccount({ targetUser: parent, accessKey, secretKey: secret() });
    await expect(again).rejects.toBeInstanceOf(MinioAdminError);
    await expect(again).rejects.toMatchObject({ code: expect.stringMatching(/^XMinio/) });
  });

  it('encrypts requests with Argon2id too, which MinIO also accepts', async () => {
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
  });

  it('reports a wrong admin credential as credentials_rejected', async () => {
    const wrong = new MinioAdminClient({
      endpoint: minio.endpoint,
      accessKey: minio.rootUser,
      secretKey: 'not-the-root-password',
    });
    await expect(wrong.listServiceAccounts('anyone')).rejects.toBeInstanceOf(CredentialsRejectedError);
  });
});
