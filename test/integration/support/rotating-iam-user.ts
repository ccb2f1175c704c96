import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  type IAMClient,
  ListAccessKeysCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { uniqueName } from './aws';

export const ROTATED_PATH = '/gen3-buckets/';

export interface RotatingIamSecret {
  name: string;
  arn: string;
  bucket: string;
  user: string;
  first: { accessKeyId: string; secretAccessKey: string };
}

/**
 * What an operator has before enabling rotation: a bucket with an object, an IAM user under the
 * rotated path allowed on S3, its first access key, and the secret holding that key with
 * `iam_user_name` and `aws_bucket`.
 */
export async function createRotatingIamSecret(
  clients: { iam: IAMClient; s3: S3Client; sm: SecretsManagerClient },
  options: { path?: string; fields?: Record<string, string> } = {},
): Promise<RotatingIamSecret> {
  const bucket = uniqueName('iam-rotated');
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'probe.txt', Body: 'hello' }));
  const user = uniqueName('fence-user').slice(0, 60);
  await clients.iam.send(new CreateUserCommand({ UserName: user, Path: options.path ?? ROTATED_PATH }));
  await clients.iam.send(
    new PutUserPolicyCommand({
      UserName: user,
      PolicyName: 'bucket',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      }),
    }),
  );
  const { AccessKey } = await clients.iam.send(new CreateAccessKeyCommand({ UserName: user }));
  const first = {
    accessKeyId: AccessKey?.AccessKeyId ?? '',
    secretAccessKey: AccessKey?.SecretAccessKey ?? '',
  };
  const name = `gen3/fence/aws/${bucket}`;
  const created = await clients.sm.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({
        access_key_id: first.accessKeyId,
        secret_access_key: first.secretAccessKey,
        iam_user_name: user,
        aws_bucket: bucket,
        ...options.fields,
      }),
      Tags: [{ Key: 'fence-bucket-broker:rotation', Value: 'iam-user-key' }],
    }),
  );
  return { name, arn: created.ARN ?? name, bucket, user, first };
}

/** ListAccessKeys of the user: the ids of its keys, as a set. */
export async function accessKeysOf(iam: IAMClient, user: string): Promise<Set<string>> {
  const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: user }));
  return new Set((AccessKeyMetadata ?? []).map((key) => key.AccessKeyId ?? ''));
}
