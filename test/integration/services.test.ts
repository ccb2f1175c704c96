import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Client } from 'pg';
import { readEndpoints } from './services/endpoints';
import { secretsManager, uniqueName } from './support/aws';
import { signingStores } from './support/signing-stores';

/** Each service of the test bed proven once, with the plainest client for it. */
describe('Test bed', () => {
  const endpoints = readEndpoints();

  it('round-trips a secret through the AWS emulator', async () => {
    // Prepare
    const client = secretsManager();
    const name = `gen3/fence/${uniqueName('bed')}`;
    await client.send(new CreateSecretCommand({ Name: name, SecretString: '{"probe":"value-1"}' }));

    // Act
    const answer = await client.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }),
    );

    // Assess
    expect(answer.SecretString).toBe('{"probe":"value-1"}');
  });

  it.each(signingStores())(
    'round-trips an object on $name through presigned URLs made with the AWS SDK',
    async (store) => {
      // Prepare
      const s3 = store.client();
      const bucket = uniqueName('bed');
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const body = `bytes ${crypto.randomUUID()}`;

      // Act
      const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'probe.txt' }), {
        expiresIn: 60,
      });
      const put = await fetch(putUrl, { method: 'PUT', body });
      const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'probe.txt' }), {
        expiresIn: 60,
      });
      const got = await fetch(getUrl);
      const forged = await fetch(
        getUrl.replace(/X-Amz-Signature=[0-9a-f]+/, `X-Amz-Signature=${'0'.repeat(64)}`),
      );

      // Assess
      expect(put.status).toBe(200);
      expect(got.status).toBe(200);
      expect(await got.text()).toBe(body);
      // The store checks signatures, which is why presigned URLs are proven against it.
      expect(forged.status).toBe(403);
    },
  );

  it('answers a query on PostgreSQL', async () => {
    // Prepare
    const client = new Client({ connectionString: endpoints.postgresUrl });
    await client.connect();

    // Act
    const answer = await client.query<{ answer: number }>('SELECT 6 * 7 AS answer');
    await client.end();

    // Assess
    expect(answer.rows[0]?.answer).toBe(42);
  });
});
