import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { readEndpoints } from '../services/endpoints';
import { minioRootClient, secretsManager, uniqueName } from '../support/aws';
import { RotationDriver } from '../support/rotation-driver';

describe('Handler: MinIO key-rotation Lambda entry (middy, Powertools)', () => {
  it('runs a whole rotation through the deployed entry point, logging steps but never a secret', async () => {
    // Prepare
    const { minio } = readEndpoints();
    const sm = secretsManager();
    const root = new MinioAdminClient({
      endpoint: minio.endpoint,
      accessKey: minio.rootUser,
      secretKey: minio.rootPassword,
    });
    const bucket = uniqueName('handler');
    await minioRootClient(minio).send(new CreateBucketCommand({ Bucket: bucket }));
    const parent = uniqueName('fence-parent');
    await root.addUser(parent, randomBytes(24).toString('base64url'));
    await root.attachPolicies(parent, ['readwrite']);
    const adminRef = `gen3/fence/minio-admin/${uniqueName('admin')}`;
    await sm.send(
      new CreateSecretCommand({
        Name: adminRef,
        SecretString: JSON.stringify({
          access_key_id: minio.rootUser,
          secret_access_key: minio.rootPassword,
        }),
      }),
    );
    const name = `gen3/fence/minio/${bucket}`;
    const first = { accessKey: 'FBBHANDLERFIRST00001', secretKey: randomBytes(30).toString('base64url') };
    await root.addServiceAccount({ targetUser: parent, ...first });
    await sm.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({
          access_key_id: first.accessKey,
          secret_access_key: first.secretKey,
          minio_endpoint: minio.endpoint,
          minio_parent_user: parent,
          minio_admin_secret_ref: adminRef,
          minio_bucket: bucket,
        }),
      }),
    );
    process.env.FENCE_SECRETS_PREFIX = 'gen3/fence/';
    process.env.POWERTOOLS_METRICS_NAMESPACE = 'FenceBucketBrokerTest';
    const output: string[] = [];
    const capture = (chunk: unknown) => {
      output.push(String(chunk));
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(capture),
      jest.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    const { handler } = await import('../../../functions/rotate-minio-key/handler');
    const context = { awsRequestId: 'rotation-request', functionName: 'rotate-minio-key' } as Context;

    // Act
    await new RotationDriver(sm, (event) => handler(event, context)).rotate(name);
    const badEvent = await handler({ Step: 'eraseSecret', SecretId: name }, context).then(
      () => undefined,
      (error: unknown) => error,
    );
    for (const spy of spies) spy.mockRestore();

    // Assess
    const current = JSON.parse(
      (await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' })))
        .SecretString ?? '{}',
    );
    expect(current.access_key_id).not.toBe(first.accessKey);
    expect(badEvent).toMatchObject({ code: 'invalid_request' });
    const logs = output.join('');
    expect(logs).toContain('rotation step');
    expect(logs).toContain('RotationStepSucceeded');
    expect(logs).toContain('rotation step failed');
    for (const secret of [first.secretKey, current.secret_access_key, minio.rootPassword])
      expect(logs).not.toContain(secret);
  }, 60_000);
});
