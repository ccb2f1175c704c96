import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { createRegistryTable, dynamoDb } from '../support/aws';
import { bucketRegistryContract } from './bucket-registry-contract';

describe('Class: DynamoDbBucketRegistry (moto)', () => {
  const client = dynamoDb();

  // A new table per test; moto drops them with the server.
  bucketRegistryContract(async () => ({
    registry: new DynamoDbBucketRegistry(await createRegistryTable(client)),
  }));
});
