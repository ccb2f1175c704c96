import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createRoleRequiringExternalId, secretsManager, uniqueName } from '../support/aws';
import { ROTATION_LAMBDA_ARN } from '../support/rotation-driver';
import { localstackStore } from '../support/signing-stores';
import { readEndpoints } from './endpoints';

/**
 * Where LocalStack (2026.3, on the host, no Docker) departs from AWS in what this project relies
 * on: each test says what AWS does, what LocalStack does, and what the suite does about it.
 * LocalStack run only (its Secrets Manager and S3 are this file's subject).
 */
describe('Emulator: where LocalStack departs from AWS', () => {
  const client = secretsManager();
  const outcome = (call: Promise<unknown>): Promise<unknown> =>
    call.then(
      () => undefined,
      (error: unknown) => error,
    );

  it('refuses RotateSecret while the rotation Lambda does not exist, so rotation tests keep Secrets Manager on moto', async () => {
    // Prepare: AWS refuses a missing Lambda too, but LocalStack could not run one here anyway
    // (its Lambda needs Docker): the rotation tests play Secrets Manager's part themselves
    // (RotationDriver) on moto_server.py, which leaves AWSPENDING for them as AWS does.
    const name = `gen3/fence/${uniqueName('ls-rotate')}`;
    await client.send(new CreateSecretCommand({ Name: name, SecretString: '{"v":"current"}' }));

    // Act
    const refused = await outcome(
      client.send(
        new RotateSecretCommand({
          SecretId: name,
          ClientRequestToken: crypto.randomUUID(),
          RotationLambdaARN: ROTATION_LAMBDA_ARN,
        }),
      ),
    );

    // Assess
    expect(refused).toMatchObject({
      name: 'ResourceNotFoundException',
      message: expect.stringMatching(/Lambda does not exist/),
    });
  });

  it('assumes a role requiring an external id without it, so the drift tests keep STS on moto', async () => {
    // Prepare: AWS refuses AssumeRole unless the trust policy admits the caller, condition
    // included; the drift check fails a role bucket whose external id the role refuses, which
    // moto_server.py makes moto enforce (point 4). This run serves IAM from moto, and LocalStack's
    // STS assumes whatever role it is given.
    const roleArn = await createRoleRequiringExternalId(uniqueName('external'));

    // Act
    const assumed = await new STSClient({}).send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'ls-semantics' }),
    );

    // Assess
    expect(assumed.Credentials?.AccessKeyId).toBeTruthy();
  });

  it('overwrites a version with a different value under a token already used, where AWS refuses (ResourceExistsException)', async () => {
    // Prepare: createSecret is idempotent per token because AWS refuses a second, different
    // value; the rotation tests rely on that refusal, which moto_server.py gives moto (point 2).
    const name = `gen3/fence/${uniqueName('ls-token')}`;
    await client.send(new CreateSecretCommand({ Name: name, SecretString: '{"v":"current"}' }));
    const token = crypto.randomUUID();
    const put = (value: string) =>
      client.send(
        new PutSecretValueCommand({
          SecretId: name,
          ClientRequestToken: token,
          SecretString: value,
          VersionStages: ['AWSPENDING'],
        }),
      );
    await put('{"v":"first"}');

    // Act
    const second = await outcome(put('{"v":"second"}'));
    const stored = await client.send(
      new GetSecretValueCommand({ SecretId: name, VersionId: token, VersionStage: 'AWSPENDING' }),
    );

    // Assess
    expect(second).toBeUndefined();
    expect(stored.SecretString).toBe('{"v":"second"}');
  });

  it('checks presigned URLs only: a request signed in headers with a wrong secret key is served', async () => {
    // Prepare: AWS and MinIO refuse both. So the broker's header-signed multipart calls
    // (create, complete, abort) are proven against MinIO; LocalStack proves presigned URLs.
    const store = localstackStore(readEndpoints().aws.localstack ?? '');
    const bucket = uniqueName('ls-headers');
    await store.client().send(new CreateBucketCommand({ Bucket: bucket }));
    const wrongKey = new S3Client({
      endpoint: store.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: store.keys.access_key_id, secretAccessKey: 'not-the-secret-key' },
    });

    // Act
    const headerSigned = await outcome(
      wrongKey.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'served' })),
    );
    const presigned = await fetch(
      await getSignedUrl(wrongKey, new GetObjectCommand({ Bucket: bucket, Key: 'k' }), { expiresIn: 60 }),
    );
    const rightlyPresigned = await fetch(
      await getSignedUrl(store.client(), new GetObjectCommand({ Bucket: bucket, Key: 'k' }), {
        expiresIn: 60,
      }),
    );

    // Assess
    expect(headerSigned).toBeUndefined();
    expect(presigned.status).toBe(403);
    expect(await presigned.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(await rightlyPresigned.text()).toBe('served');
  });
});
