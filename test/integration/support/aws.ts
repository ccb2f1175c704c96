import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { REGISTRY_TABLE_KEYS } from '../../../functions/shared/registry/dynamodb-bucket-registry';

/** A name no other test in this run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

// Endpoint, region and credentials come from the environment (aws-emulator-environment.ts), so
// these clients talk to whichever emulator the run routes each service to (moto or LocalStack).
export const secretsManager = () => new SecretsManagerClient({});
export const dynamoDb = () => new DynamoDBClient({});

/** Creates a registry table with the key layout the CDK construct deploys. */
export async function createRegistryTable(
  client: DynamoDBClient,
  tableName = uniqueName('registry'),
): Promise<string> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: REGISTRY_TABLE_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: REGISTRY_TABLE_KEYS.idIndexKey, AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: REGISTRY_TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: REGISTRY_TABLE_KEYS.idIndexName,
          KeySchema: [{ AttributeName: REGISTRY_TABLE_KEYS.idIndexKey, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    }),
  );
  return tableName;
}

/** An S3 client for a MinIO server as its root user, for test setup (buckets, listings). */
export function minioRootClient(
  minio: { endpoint: string; rootUser: string; rootPassword: string },
  options: Partial<ConstructorParameters<typeof S3Client>[0]> = {},
): S3Client {
  return new S3Client({
    endpoint: minio.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword },
    ...options,
  });
}

/** A DynamoDB client that counts the write requests it sends (conditional ones included). */
export function countingDynamoDb(): { client: DynamoDBClient; writes: () => number } {
  const client = new DynamoDBClient({});
  let writes = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (
        /^(PutItem|DeleteItem|UpdateItem|BatchWriteItem|TransactWriteItems)Command$/.test(
          context.commandName ?? '',
        )
      ) {
        writes++;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
  return { client, writes: () => writes };
}

/**
 * A role (in moto's IAM) whose trust policy admits this account only with `externalId`, as a
 * data owner's bucket role does; moto_server.py makes AssumeRole enforce that condition.
 */
export async function createRoleRequiringExternalId(externalId: string): Promise<string> {
  const created = await new IAMClient({}).send(
    new CreateRoleCommand({
      RoleName: uniqueName('gen3-bucket-access'),
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::123456789012:root' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': externalId } },
          },
        ],
      }),
    }),
  );
  return String(created.Role?.Arn);
}
