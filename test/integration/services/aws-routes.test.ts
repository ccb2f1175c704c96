import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { extract, parse } from 'jest-docblock';
import { secretsManager, uniqueName } from '../support/aws';
import { docSection } from '../support/readme';
import { awsEndpointVariables, keepsOnMoto, SECRETS_MANAGER_ON_MOTO, STS_ON_MOTO } from './aws-routes';
import { readEndpoints } from './endpoints';

const INTEGRATION = join(__dirname, '..');

/** Every integration test file, relative to test/integration. */
function testFiles(directory = INTEGRATION): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(INTEGRATION, path)] : [];
  });
}

/** The account each emulator answers for with this run's dummy credentials. */
const ACCOUNT = { moto: '123456789012', localstack: '000000000000' } as const;

describe('Harness: which emulator serves which AWS service', () => {
  const { aws } = readEndpoints();
  const emulated = aws.emulator;

  it('sends Secrets Manager, STS and S3 to the run’s emulator and DynamoDB to moto, through the SDK’s own variables', async () => {
    // Prepare
    const bucket = uniqueName('routes');
    const bucketOn = (endpoint: string) =>
      new S3Client({ endpoint, forcePathStyle: true }).send(new HeadBucketCommand({ Bucket: bucket })).then(
        () => true,
        () => false,
      );

    // Act: each call goes wherever the environment's variables send it.
    const secret = await secretsManager().send(
      new CreateSecretCommand({ Name: `gen3/fence/${uniqueName('routes')}`, SecretString: '{}' }),
    );
    const caller = await new STSClient({}).send(new GetCallerIdentityCommand({}));
    const table = await new DynamoDBClient({}).send(
      new CreateTableCommand({
        TableName: uniqueName('routes'),
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
      }),
    );
    await new S3Client({ forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket }));

    // Assess: the account in each answer tells the emulators apart.
    expect(secret.ARN).toContain(`:${ACCOUNT[emulated]}:`);
    expect(caller.Account).toBe(ACCOUNT[emulated]);
    expect(table.TableDescription?.TableArn).toContain(`:${ACCOUNT.moto}:`);
    expect(await bucketOn(aws.localstack ?? aws.moto)).toBe(true);
    expect(await bucketOn(aws.moto)).toBe(aws.localstack === null);
  });

  it('keeps Secrets Manager or STS on moto only for a file whose docblock says why', () => {
    // Act
    const routes = (secretsManagerOnMoto: boolean, stsOnMoto = false) =>
      awsEndpointVariables(aws, { secretsManagerOnMoto, stsOnMoto });
    const refusal = (pragma: typeof SECRETS_MANAGER_ON_MOTO | typeof STS_ON_MOTO) => () =>
      keepsOnMoto(pragma, { [pragma]: ' ' }, 'x.test.ts');

    // Assess
    expect(routes(true).AWS_ENDPOINT_URL_SECRETS_MANAGER).toBe(aws.moto);
    expect(routes(false).AWS_ENDPOINT_URL_SECRETS_MANAGER).toBe(aws.localstack ?? aws.moto);
    expect(routes(true).AWS_ENDPOINT_URL_STS).toBe(aws.localstack ?? aws.moto);
    expect(routes(false, true).AWS_ENDPOINT_URL_STS).toBe(aws.moto);
    expect(routes(false, true).AWS_ENDPOINT_URL_SECRETS_MANAGER).toBe(aws.localstack ?? aws.moto);
    expect(routes(true).AWS_ENDPOINT_URL_S3).toBe(routes(false, true).AWS_ENDPOINT_URL_S3);
    expect(refusal(SECRETS_MANAGER_ON_MOTO)).toThrow(
      /takes one reason: why the file cannot use LocalStack's Secrets Manager/,
    );
    expect(refusal(STS_ON_MOTO)).toThrow(/takes one reason: why the file cannot use LocalStack's STS/);
    expect(keepsOnMoto(STS_ON_MOTO, { [STS_ON_MOTO]: 'because' }, 'x.test.ts')).toBe(true);
    expect(keepsOnMoto(SECRETS_MANAGER_ON_MOTO, {}, 'x.test.ts')).toBe(false);
  });

  it.each([
    [SECRETS_MANAGER_ON_MOTO, '| Secrets Manager in '],
    [STS_ON_MOTO, '| STS in '],
  ])('lists in the README exactly the files marked @%s', (pragma, rowStart) => {
    // Prepare
    const marked = testFiles()
      .filter((file) => parse(extract(readFileSync(join(INTEGRATION, file), 'utf8')))[pragma])
      .sort();
    const section = docSection('docs/testing.md', '## Two AWS emulators');
    const row = section.split('\n').find((line) => line.startsWith(rowStart)) ?? '';
    const files = row.split(' | ')[0] ?? '';

    // Act
    const listed = [...files.matchAll(/`([\w/.-]+\.test\.ts)`/g)].map((match) => String(match[1])).sort();

    // Assess
    expect(marked.length).toBeGreaterThan(0);
    expect(listed).toEqual(marked);
  });
});
