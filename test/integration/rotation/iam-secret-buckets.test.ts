/**
 * @secrets-manager-on-moto the rotation runs as in iam-user-key-rotation.test.ts.
 *
 * Where testSecret proves a new IAM key when the secret names no `aws_bucket`: the registry's
 * records whose `secret_ref` is the secret (DynamoDbSecretBuckets, on moto's DynamoDB).
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { IamAccessKeys } from '../../../functions/shared/rotation/iam-access-keys';
import { IamUserKeyRotation } from '../../../functions/shared/rotation/iam-user-key-rotation';
import { RotationStore } from '../../../functions/shared/rotation/rotation-store';
import { DynamoDbSecretBuckets } from '../../../functions/shared/rotation/secret-buckets';
import { createRegistryTable, dynamoDb, secretsManager, uniqueName } from '../support/aws';
import { createRotatingIamSecret, ROTATED_PATH } from '../support/rotating-iam-user';
import { RotationDriver } from '../support/rotation-driver';
import { fixedGrace, keyAt } from '../support/rotation-fixture';

const db = dynamoDb();
const sm = secretsManager();
const iam = new IAMClient({});
const s3 = new S3Client({ forcePathStyle: true });

/** A static AWS bucket record on `secretRef`. */
const onSecret = (bucket: string, secretRef: string) => ({
  bucket_name: bucket,
  provider: 'aws' as const,
  auth_mode: 'static' as const,
  secrets_backend: 'aws_sm' as const,
  secret_ref: secretRef,
  region: 'us-east-1',
  allowed_ops: ['download' as const],
});

describe('Class: DynamoDbSecretBuckets (moto DynamoDB)', () => {
  it("finds the records naming the secret by name or ARN, not a longer secret's", async () => {
    // Prepare
    const table = await createRegistryTable(db);
    const registry = new DynamoDbBucketRegistry(table);
    const name = `gen3/fence/aws/${uniqueName('dataset')}`;
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    await registry.create(onSecret('by-name-bucket', name));
    await registry.create(onSecret('by-arn-bucket', arn));
    await registry.create(onSecret('longer-name-bucket', `${name}-other`));

    // Act
    const buckets = await new DynamoDbSecretBuckets(db, table).bucketsFor({ name, arn });

    // Assess
    expect(buckets).toEqual([
      { bucket: 'by-arn-bucket', region: 'us-east-1' },
      { bucket: 'by-name-bucket', region: 'us-east-1' },
    ]);
  });

  it("testSecret proves the key on the registry's bucket when the secret names none, and refuses when there is none", async () => {
    // Prepare
    const table = await createRegistryTable(db);
    const secret = await createRotatingIamSecret({ iam, s3, sm }, { withoutBucketField: true });
    const orphan = await createRotatingIamSecret({ iam, s3, sm }, { withoutBucketField: true });
    await new DynamoDbBucketRegistry(table).create(onSecret(secret.bucket, secret.name));
    const rotation = new IamUserKeyRotation({
      store: new RotationStore(sm),
      iam: new IamAccessKeys(iam),
      userPath: ROTATED_PATH,
      grace: fixedGrace(3600),
      buckets: new DynamoDbSecretBuckets(db, table),
      propagationWaitMs: 0,
    });
    const driver = new RotationDriver(sm, (event) => rotation.run(event));

    // Act
    await driver.rotate(secret.name);
    const refused = driver.rotate(orphan.name, { maxAttempts: 1 });

    // Assess
    expect((await keyAt(sm, secret.name, 'AWSCURRENT')).access_key_id).not.toBe(secret.first.accessKeyId);
    await expect(refused).rejects.toThrow('names no aws_bucket and no registered bucket uses it');
    expect((await keyAt(sm, orphan.name, 'AWSCURRENT')).access_key_id).toBe(orphan.first.accessKeyId);
  });
});
