import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { ReaderRetirementGrace } from '../../../functions/shared/rotation/retirement-grace';
import { DynamoDbSecretUrlLifetimes } from '../../../functions/shared/rotation/secret-url-lifetimes';
import { createRegistryTable, dynamoDb, uniqueName } from '../support/aws';

const db = dynamoDb();

/** A static MinIO bucket record on `secretRef` with URLs up to `maxExpiresIn` seconds. */
const onSecret = (secretRef: string, maxExpiresIn: number) => ({
  bucket_name: uniqueName('bucket'),
  provider: 'minio' as const,
  auth_mode: 'static' as const,
  secrets_backend: 'aws_sm' as const,
  secret_ref: secretRef,
  endpoint: 'https://minio.example.org',
  allowed_ops: ['download' as const],
  max_expires_in: maxExpiresIn,
});

describe('Class: ReaderRetirementGrace over DynamoDbSecretUrlLifetimes (moto DynamoDB)', () => {
  const settings = { cacheTtlSeconds: 300, cacheJitter: 0.1, staleOnErrorSeconds: 3600, marginSeconds: 600 };

  it('takes the longest max_expires_in of the records naming the secret (by name or ARN), and none of other secrets', async () => {
    // Prepare
    const table = await createRegistryTable(db);
    const registry = new DynamoDbBucketRegistry(table);
    const name = `gen3/fence/minio/${uniqueName('dataset')}`;
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    await registry.create(onSecret(name, 1800));
    await registry.create(onSecret(arn, 7200));
    await registry.create(onSecret('gen3/fence/minio/another', 604800));
    const lifetimes = new DynamoDbSecretUrlLifetimes(db, table);
    const grace = new ReaderRetirementGrace({
      ...settings,
      defaultMaxUrlLifetimeSeconds: 3600,
      urlLifetimes: lifetimes,
    });

    // Act
    const longest = await lifetimes.longestFor({ name, arn });
    const seconds = await grace.seconds({ name, arn });
    const unregistered = await grace.seconds({ name: 'gen3/fence/minio/nobody', arn: 'arn:nobody' });

    // Assess: 300 × 1.1 + 7200 + 3600 + 600; with no record, the default URL lifetime (3600).
    expect(longest).toBe(7200);
    expect(seconds).toBeCloseTo(330 + 7200 + 3600 + 600, 6);
    expect(unregistered).toBeCloseTo(330 + 3600 + 3600 + 600, 6);
  }, 60_000);

  it('never goes below the default URL lifetime, and counts a malformed max_expires_in as the longest SigV4 allows', async () => {
    // Prepare
    const table = await createRegistryTable(db);
    const name = `gen3/fence/minio/${uniqueName('dataset')}`;
    await new DynamoDbBucketRegistry(table).create(onSecret(name, 60));
    const lifetimes = new DynamoDbSecretUrlLifetimes(db, table);
    const grace = new ReaderRetirementGrace({
      ...settings,
      defaultMaxUrlLifetimeSeconds: 3600,
      urlLifetimes: lifetimes,
    });
    const short = await grace.seconds({ name, arn: name });
    await db.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          bucket_name: { S: uniqueName('broken') },
          secret_ref: { S: name },
          max_expires_in: { S: 'soon' },
        },
      }),
    );

    // Act
    const longest = await lifetimes.longestFor({ name, arn: name });

    // Assess
    expect(short).toBeCloseTo(330 + 3600 + 3600 + 600, 6);
    expect(longest).toBe(604800);
  }, 60_000);
});
