import { randomBytes } from 'node:crypto';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { IAM_ROTATION_TAG } from '../../../functions/shared/rotation/iam-rotation-secret';
import { secretsManager, uniqueName } from './aws';
import { createS3Bucket } from './drift-bed';

export interface AwsKeyBucket {
  bucket: string;
  name: string;
  arn: string;
  key: { access_key_id: string; secret_access_key: string };
}

/**
 * An AWS bucket (moto S3) signed with a static key from Secrets Manager, as `migrate` leaves one:
 * `iamUser` adds `iam_user_name` and the IAM-rotation tag, as IAM-key rotation expects them.
 */
export async function awsKeyBucket(
  registry: DynamoDbBucketRegistry,
  options: { iamUser?: string; tagOnly?: boolean } = {},
): Promise<AwsKeyBucket> {
  const bucket = await createS3Bucket();
  const key = {
    access_key_id: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secret_access_key: randomBytes(30).toString('base64url'),
  };
  const name = `gen3/fence/aws/${uniqueName('static-key')}`;
  const created = await secretsManager().send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({
        ...key,
        region: 'us-east-1',
        ...(options.iamUser === undefined || options.tagOnly ? {} : { iam_user_name: options.iamUser }),
      }),
      ...(options.iamUser === undefined
        ? {}
        : { Tags: [{ Key: IAM_ROTATION_TAG.key, Value: IAM_ROTATION_TAG.value }] }),
    }),
  );
  const arn = String(created.ARN);
  await registry.create({
    bucket_name: bucket,
    provider: 'aws',
    auth_mode: 'static',
    secrets_backend: 'aws_sm',
    secret_ref: arn,
    region: 'us-east-1',
    allowed_ops: ['download'],
  });
  return { bucket, name, arn, key };
}
