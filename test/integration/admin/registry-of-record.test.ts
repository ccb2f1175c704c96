import { Logger } from '@aws-lambda-powertools/logger';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { createAdminHandler } from '../../../functions/admin/admin-handler';
import { wireBucketAdmin } from '../../../functions/admin/admin-wiring';
import { AdminEnvironmentSchema } from '../../../functions/admin/environment';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { PostgresBucketRegistry } from '../../../functions/shared/registry/postgres-bucket-registry';
import { iamRequestContext } from '../support/admin-bed';
import { createRegistryTable, dynamoDb, secretsManager, uniqueName } from '../support/aws';
import { cli } from '../support/cli';
import { type FenceDbUnderTest, freshFenceDb } from '../support/fence-db';
import { mirrorItems } from '../support/registry-sync-bed';
import { TcpProxy } from '../support/tcp-proxy';

const ROLE = 'arn:aws:iam::123456789012:role/gen3-bucket-access';
const ADMIN = 'arn:aws:sts::123456789012:assumed-role/gen3-admin/alice';

/** A role bucket, registered without the proof (no STS round trip needed here). */
const registerArgs = (bucket: string) => [
  '--json',
  'register',
  '--bucket',
  bucket,
  '--provider',
  'aws',
  '--auth-mode',
  'role',
  '--role-arn',
  ROLE,
  '--allowed-ops',
  'download',
  '--no-validate',
];

/** The audit lines a CLI run wrote to stderr. */
function auditLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{"audit"'))
    .map((line) => (JSON.parse(line) as { audit: Record<string, unknown> }).audit);
}

describe('Registry of record: admin writes with REGISTRY_SOURCE (CLI in process, PostgreSQL + moto)', () => {
  let db: FenceDbUnderTest;
  let fenceDb: PostgresBucketRegistry;
  let tableName: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    db = await freshFenceDb();
    fenceDb = PostgresBucketRegistry.connect({ connectionString: db.url });
    tableName = await createRegistryTable(dynamoDb());
    // The harness's PostgreSQL serves no TLS: said explicitly, as the CLI requires.
    env = {
      REGISTRY_SOURCE: 'postgres',
      FENCE_DB_URL: db.url,
      FENCE_DB_SSL: 'disable',
      REGISTRY_TABLE_NAME: tableName,
    };
  }, 60_000);

  afterEach(async () => {
    await fenceDb.close();
    await db.drop();
  }, 60_000);

  it('writes Fence DB first, and the same record to DynamoDB at once (register, then suspend)', async () => {
    // Act
    const registered = await cli(registerArgs('of-record'), env);
    const inDynamoDbAfterRegister = await new DynamoDbBucketRegistry(tableName).getByName('of-record');
    const suspended = await cli(['--json', 'suspend', 'of-record'], env);
    const inDynamoDbAfterSuspend = await new DynamoDbBucketRegistry(tableName).getByName('of-record');

    // Assess
    expect([registered.code, suspended.code]).toEqual([0, 0]);
    const record = JSON.parse(registered.out);
    expect(inDynamoDbAfterRegister).toEqual(record);
    expect(JSON.parse(suspended.out)).toMatchObject({ status: 'suspended', revision: 2 });
    expect(inDynamoDbAfterSuspend).toEqual(await fenceDb.getByName('of-record'));
    expect(inDynamoDbAfterSuspend).toMatchObject({ status: 'suspended', revision: 2 });
    expect([...auditLines(registered.err), ...auditLines(suspended.err)]).toEqual([
      expect.objectContaining({ action: 'register', outcome: 'ok', mirror: 'mirrored' }),
      expect.objectContaining({ action: 'patch', outcome: 'ok', mirror: 'mirrored' }),
    ]);
  }, 60_000);

  it('with REGISTRY_SOURCE=dynamodb (the default) writes DynamoDB only', async () => {
    // Act
    const registered = await cli(registerArgs('table-only'), { ...env, REGISTRY_SOURCE: undefined });

    // Assess
    expect(registered.code).toBe(0);
    expect(await new DynamoDbBucketRegistry(tableName).getByName('table-only')).toEqual(
      JSON.parse(registered.out),
    );
    expect(await fenceDb.list()).toEqual({ records: [] });
    expect(auditLines(registered.err)[0]).not.toHaveProperty('mirror');
  }, 60_000);

  it('saves in Fence DB when DynamoDB is down, says so, and the next sync copies the record', async () => {
    // Prepare: DynamoDB reached through a proxy that is closed (the rest of AWS still answers)
    const { proxy, url } = await TcpProxy.start(String(process.env.AWS_ENDPOINT_URL));
    await proxy.close();
    const previous = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = url;
    let registered: Awaited<ReturnType<typeof cli>>;
    try {
      // Act
      registered = await cli(registerArgs('missed-by-mirror'), env);
    } finally {
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
      else process.env.AWS_ENDPOINT_URL_DYNAMODB = previous;
    }
    const rightAfter = await mirrorItems(tableName);
    const synced = await cli(['--json', 'sync'], env);

    // Assess
    expect(registered.code).toBe(0);
    const record = JSON.parse(registered.out);
    expect(await fenceDb.getByName('missed-by-mirror')).toEqual(record);
    expect(auditLines(registered.err)).toEqual([
      expect.objectContaining({ action: 'register', outcome: 'ok', status: 200, mirror: 'mirror_failed' }),
    ]);
    expect(registered.err).toContain(
      '"warning":"registry mirror write failed; the next sync copies the record"',
    );
    expect(rightAfter.has('missed-by-mirror')).toBe(false);
    expect(synced.code).toBe(0);
    expect(JSON.parse(synced.out)).toMatchObject({ inserted: 1, failed: 0 });
    expect(await new DynamoDbBucketRegistry(tableName).getByName('missed-by-mirror')).toEqual(record);
  }, 120_000);

  it('refuses REGISTRY_SOURCE=postgres without FENCE_DB_URL, naming the setting', async () => {
    const answer = await cli(['list'], { ...env, FENCE_DB_URL: undefined });
    expect(answer.code).toBe(1);
    expect(answer.err).toContain('REGISTRY_SOURCE=postgres needs FENCE_DB_URL');
  });
});

describe('Registry of record: the admin Lambda with Fence DB (connection secret through @middy/secrets-manager)', () => {
  it('writes Fence DB first and the table at once, its connection read from the secret and never logged', async () => {
    // Prepare
    const db = await freshFenceDb();
    const tableName = await createRegistryTable(dynamoDb());
    // The test server trusts local connections (no password): the secret's `url` form, which must not be logged either.
    const secret = await secretsManager().send(
      new CreateSecretCommand({
        Name: uniqueName('fence-db/admin-connection'),
        SecretString: JSON.stringify({ url: db.url }),
      }),
    );
    const environment = readEnvironment(AdminEnvironmentSchema, {
      REGISTRY_TABLE_NAME: tableName,
      REGISTRY_SOURCE: 'postgres',
      FENCE_DB_SECRET_ARN: String(secret.ARN),
      FENCE_DB_SSL: 'disable',
    });
    const written: string[] = [];
    const logger = new Logger({ serviceName: 'admin-of-record' });
    const handler = createAdminHandler({
      admin: (fenceDb) =>
        wireBucketAdmin(environment, {
          audit: (line) => written.push(JSON.stringify(line)),
          ...(fenceDb === undefined ? {} : { fenceDb }),
        }),
      logger,
      allowedCallers: [ADMIN],
      fenceDb: { secretArn: String(secret.ARN), ssl: 'disable' },
    });
    const body = {
      bucket_name: 'admin-of-record',
      provider: 'aws',
      auth_mode: 'role',
      role_arn: ROLE,
      allowed_ops: ['download'],
    };
    const fenceDb = PostgresBucketRegistry.connect({ connectionString: db.url });

    try {
      // Act
      const answer = await handler(
        {
          httpMethod: 'POST',
          path: '/v1/admin/buckets',
          body: Buffer.from(JSON.stringify(body)).toString('base64'),
          isBase64Encoded: true,
          queryStringParameters: { validate: 'false' },
          requestContext: iamRequestContext(ADMIN),
        } as unknown as APIGatewayProxyEvent,
        { awsRequestId: 'admin-of-record', functionName: 'admin' } as Context,
      );

      // Assess
      expect(answer.statusCode).toBe(201);
      const inFenceDb = await fenceDb.getByName('admin-of-record');
      const inTable = await new DynamoDbBucketRegistry(tableName).getByName('admin-of-record');
      expect(inFenceDb).toMatchObject({ bucket_name: 'admin-of-record', revision: 1 });
      expect(inTable).toEqual(inFenceDb);
      expect(written.join('\n')).toContain('"mirror":"mirrored"');
      expect(written.join('\n')).not.toContain(db.url);
    } finally {
      await fenceDb.close();
      await db.drop();
    }
  }, 60_000);
});
