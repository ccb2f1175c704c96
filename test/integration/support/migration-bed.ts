import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { ListSecretsCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { parse } from 'yaml';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { minioBucketWithUser } from './admin-bed';
import { createRegistryTable, dynamoDb, secretsManager } from './aws';

const FIXTURE = join(__dirname, '../../fixtures/fence-config.yaml');

/** The fixture's AWS buckets (created in the emulated S3) and their regions. */
export const FIXTURE_AWS_BUCKETS: Record<string, string> = {
  'gen3-fixture-data-main': 'us-east-1',
  'gen3-fixture-data-archive': 'us-east-1',
  'gen3-fixture-controlled': 'us-east-1',
  'gen3-fixture-partner': 'us-west-2',
};

async function createAwsBucket(name: string, region: string): Promise<void> {
  const s3 = new S3Client({ region, forcePathStyle: true });
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: name,
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
  } catch (error) {
    // Every test of the run uses the fixture's bucket names; the first one creates them.
    if (!(error instanceof S3ServiceException && /BucketAlready(OwnedByYou|Exists)/.test(error.name)))
      throw error;
  }
}

/**
 * The fixture `fence-config.yaml`, copied to a directory of its own and pointed at this run's
 * services: its MinIO bucket is a real bucket of the harness's MinIO with a real MinIO user's
 * keys, its AWS buckets exist in the emulated S3. A registry table and a secrets prefix of its own keep
 * tests apart.
 */
export async function migrationBed() {
  const store = await minioBucketWithUser();
  for (const [name, region] of Object.entries(FIXTURE_AWS_BUCKETS)) await createAwsBucket(name, region);
  const directory = mkdtempSync(join(tmpdir(), 'fbb-migrate-'));
  const configPath = join(directory, 'fence-config.yaml');
  const source = readFileSync(FIXTURE, 'utf8')
    .replaceAll('http://127.0.0.1:9000/', `${store.endpoint}/`)
    .replaceAll('gen3-fixture-onprem', store.bucket)
    .replaceAll('MINIOFIXTUREACCESSKEY', store.accessKey)
    .replaceAll('canary-fixture-minio-secret-Zx4Cv6Bn8Mq1Wd3Fg5Hj', store.secretKey);
  writeFileSync(configPath, source, { mode: 0o640 });
  const table = await createRegistryTable(dynamoDb());
  const prefix = `gen3/fence/${crypto.randomUUID().slice(0, 8)}/`;
  const credentials = (parse(source) as { AWS_CREDENTIALS: Record<string, Record<string, string>> })
    .AWS_CREDENTIALS;
  const keys = Object.fromEntries(
    Object.entries(credentials).map(([name, entry]) => [
      name,
      {
        access_key_id: String(entry.aws_access_key_id),
        secret_access_key: String(entry.aws_secret_access_key),
      },
    ]),
  );
  return {
    store,
    directory,
    configPath,
    source,
    table,
    prefix,
    registry: new DynamoDbBucketRegistry(table),
    /** AWS_CREDENTIALS name → its keys, as the copy holds them. */
    keys,
    /** Every key value of the copy: none may appear anywhere but in Secrets Manager. */
    keyValues: Object.values(keys).flatMap((entry) => [entry.access_key_id, entry.secret_access_key]),
    env: { REGISTRY_TABLE_NAME: table, FENCE_SECRETS_PREFIX: prefix },
  };
}

/** Secrets (not scheduled for deletion) under `prefix`, each with its number of versions. */
export async function secretsUnder(
  prefix: string,
): Promise<Record<string, { arn: string; versions: number }>> {
  const sm = secretsManager();
  const answer = await sm.send(
    new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }], MaxResults: 100 }),
  );
  const found: Record<string, { arn: string; versions: number }> = {};
  for (const secret of answer.SecretList ?? []) {
    if (secret.DeletedDate !== undefined || !String(secret.Name).startsWith(prefix)) continue;
    const versions = await sm.send(new ListSecretVersionIdsCommand({ SecretId: String(secret.ARN) }));
    found[String(secret.Name)] = { arn: String(secret.ARN), versions: versions.Versions?.length ?? 0 };
  }
  return found;
}
