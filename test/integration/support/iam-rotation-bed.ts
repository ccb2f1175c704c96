import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { createRegistryTable, dynamoDb } from './aws';

const FIXTURE = join(__dirname, '../../fixtures/fence-config-iam-rotation.yaml');
/** The collaborator's account: moto keeps one IAM per account, chosen by this header. */
export const PARTNER_ACCOUNT = '222222222222';
export const ROTATION_FUNCTION_ARN =
  'arn:aws:lambda:us-east-1:123456789012:function:FenceBucketBroker-IamKeyRotation';

/** An IAM client of moto; with `account`, for that account's IAM instead of the caller's. */
function iamClient(account?: string): IAMClient {
  const client = new IAMClient({});
  if (account !== undefined) {
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        request.headers['x-moto-account-id'] = account;
        return next(args);
      },
      { step: 'build', name: 'motoAccount' },
    );
  }
  return client;
}

/** The fixture's buckets, in the emulated S3, so registrations can prove the keys on them. */
const FIXTURE_BUCKETS = ['gen3-iam-rotated', 'gen3-iam-outside', 'gen3-iam-two-keys', 'gen3-iam-partner'];

async function createBuckets(): Promise<void> {
  const s3 = new S3Client({ region: 'us-east-1', forcePathStyle: true });
  for (const bucket of FIXTURE_BUCKETS) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      // Every bed uses the fixture's bucket names; the first one creates them.
      if (!(error instanceof S3ServiceException && /BucketAlready(OwnedByYou|Exists)/.test(error.name)))
        throw error;
    }
  }
}

async function userWithKeys(iam: IAMClient, name: string, path: string, keys = 1) {
  await iam.send(new CreateUserCommand({ UserName: name, Path: path }));
  const created = [];
  for (let index = 0; index < keys; index++) {
    const answer = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    created.push({
      access_key_id: String(answer.AccessKey?.AccessKeyId),
      secret_access_key: String(answer.AccessKey?.SecretAccessKey),
    });
  }
  return created[0] as { access_key_id: string; secret_access_key: string };
}

/**
 * A fence-config.yaml whose four credentials are keys of real IAM users in moto: one under the
 * rotation's path (unique to the bed), one outside it, one under it with two active keys, and
 * one of another account. A registry table and a secrets prefix of its own keep tests apart.
 */
export async function iamRotationBed() {
  await createBuckets();
  const run = crypto.randomUUID().slice(0, 8);
  const userPath = `/gen3-buckets-${run}/`;
  const iam = iamClient();
  const users = {
    'CRED-ROTATED': `gen3-reader-${run}`,
    'CRED-OUTSIDE': `alice-${run}`,
    'CRED-TWO-KEYS': `gen3-uploader-${run}`,
    'CRED-PARTNER': `partner-reader-${run}`,
  };
  const keys = {
    'CRED-ROTATED': await userWithKeys(iam, users['CRED-ROTATED'], userPath),
    'CRED-OUTSIDE': await userWithKeys(iam, users['CRED-OUTSIDE'], '/people/'),
    'CRED-TWO-KEYS': await userWithKeys(iam, users['CRED-TWO-KEYS'], userPath, 2),
    'CRED-PARTNER': await userWithKeys(iamClient(PARTNER_ACCOUNT), users['CRED-PARTNER'], userPath),
  };
  let source = readFileSync(FIXTURE, 'utf8');
  for (const [credential, key] of Object.entries(keys)) {
    const placeholder = `KEY-${credential.slice('CRED-'.length)}`;
    source = source
      .replaceAll(`'${placeholder}-ID'`, `'${key.access_key_id}'`)
      .replaceAll(`'${placeholder}-SECRET'`, `'${key.secret_access_key}'`);
  }
  const directory = mkdtempSync(join(tmpdir(), 'fbb-iam-rotation-'));
  const configPath = join(directory, 'fence-config.yaml');
  writeFileSync(configPath, source, { mode: 0o640 });
  const table = await createRegistryTable(dynamoDb());
  const prefix = `gen3/fence/${run}/`;
  return {
    directory,
    configPath,
    table,
    prefix,
    userPath,
    users,
    keys,
    registry: new DynamoDbBucketRegistry(table),
    /** Every key value of the file (ids included): none may appear in any output. */
    keyValues: Object.values(keys).flatMap((key) => [key.access_key_id, key.secret_access_key]),
    env: {
      REGISTRY_TABLE_NAME: table,
      FENCE_SECRETS_PREFIX: prefix,
      FENCE_IAM_ROTATION_FUNCTION_ARN: ROTATION_FUNCTION_ARN,
      FENCE_ROTATED_IAM_USER_PATH: userPath,
    },
  };
}
