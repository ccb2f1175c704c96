import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { type AdminAuditLine, BucketAdmin } from '../../../functions/shared/admin/bucket-admin';
import { AwsSecretsManagerAdministration } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-administration';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { readEndpoints } from '../services/endpoints';
import { createRegistryTable, dynamoDb, minioRootClient, uniqueName } from './aws';

/** A MinIO bucket and a MinIO user whose keys can use it: what an operator registers. */
export async function minioBucketWithUser() {
  const { minio } = readEndpoints();
  const bucket = uniqueName('admin');
  await minioRootClient(minio).send(new CreateBucketCommand({ Bucket: bucket }));
  const root = new MinioAdminClient({
    endpoint: minio.endpoint,
    accessKey: minio.rootUser,
    secretKey: minio.rootPassword,
  });
  const accessKey = `fbbadmin${randomBytes(6).toString('hex')}`;
  // A canary: tests check this value never appears in an answer, log or audit line.
  const secretKey = `canary-${randomBytes(16).toString('hex')}`;
  await root.addUser(accessKey, secretKey);
  await root.attachPolicies(accessKey, ['readwrite']);
  return { bucket, accessKey, secretKey, endpoint: minio.endpoint };
}

/** The admin core over the test run's (emulated) DynamoDB, Secrets Manager and STS, and MinIO. */
export async function adminBed() {
  const tableName = await createRegistryTable(dynamoDb());
  const registry = new DynamoDbBucketRegistry(tableName);
  const audit: AdminAuditLine[] = [];
  const admin = new BucketAdmin({
    registry,
    backends: {
      aws_sm: { read: new AwsSecretsManagerResolver(), admin: new AwsSecretsManagerAdministration() },
    },
    roles: new AssumedRoleCredentials(),
    secretsPrefix: 'gen3/fence/',
    audit: (line) => audit.push(line),
  });
  return {
    admin,
    registry,
    tableName,
    audit,
    context: { requestId: 'req-admin', caller: 'arn:aws:iam::123456789012:role/gen3-admin' },
  };
}

/** What API Gateway's IAM authorization writes into a REST proxy event (the fields the handler needs). */
export function iamRequestContext(userArn: string) {
  return {
    apiId: 'adminapi01',
    requestId: 'apigw-request-1',
    stage: 'prod',
    identity: { accessKey: 'fbb-test-access-key', userArn },
  };
}
