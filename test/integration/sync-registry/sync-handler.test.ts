import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { SyncEnvironmentSchema } from '../../../functions/sync-registry/environment';
import { createSyncHandler } from '../../../functions/sync-registry/sync-handler';
import { secretsManager, uniqueName } from '../support/aws';
import { insertRows, mirrorItems, type SyncBed, syncBed } from '../support/registry-sync-bed';

const context = { awsRequestId: 'sync-request', functionName: 'sync-registry' } as Context;

/** A Fence DB connection secret in (moto) Secrets Manager; returns its ARN. */
async function connectionSecret(value: Record<string, unknown>): Promise<string> {
  const answer = await secretsManager().send(
    new CreateSecretCommand({ Name: uniqueName('fence-db/connection'), SecretString: JSON.stringify(value) }),
  );
  return String(answer.ARN);
}

/** Everything the function writes to stdout and stderr (logs, EMF metrics) while `run` runs. */
async function captured<T>(
  run: () => Promise<T>,
): Promise<{ result: T | undefined; error: unknown; output: string }> {
  const output: string[] = [];
  const capture = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(capture),
    jest.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  try {
    return { result: await run(), error: undefined, output: output.join('') };
  } catch (error) {
    return { result: undefined, error, output: output.join('') };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** The EMF metric values published, by name, one per invocation. */
function metricsOf(output: string): Record<string, unknown[]> {
  const values: Record<string, unknown[]> = {};
  for (const line of output.split('\n')) {
    if (!line.includes('"_aws"')) continue;
    const document = JSON.parse(line) as Record<string, unknown>;
    for (const [name, value] of Object.entries(document)) {
      if (name.startsWith('RegistrySync')) values[name] = [...(values[name] ?? []), value];
    }
  }
  return values;
}

describe('Handler: scheduled registry sync Lambda (middy, @middy/secrets-manager on moto, PostgreSQL)', () => {
  let bed: SyncBed;
  const password = `canary${crypto.randomUUID().replace(/-/g, '')}`;

  beforeEach(async () => {
    bed = await syncBed();
  }, 60_000);

  afterEach(async () => {
    await bed.dispose();
  }, 60_000);

  it('the Lambda entry reads an RDS-shaped secret, mirrors the table, publishes the counts and never logs the password', async () => {
    // Prepare: the deployed entry, configured as the construct configures it
    await insertRows(bed.db, 25);
    const url = new URL(bed.db.url);
    process.env.FENCE_DB_SECRET_ARN = await connectionSecret({
      engine: 'postgres',
      host: url.hostname,
      port: Number(url.port),
      username: url.username,
      password,
      dbname: url.pathname.slice(1),
    });
    process.env.REGISTRY_TABLE_NAME = bed.tableName;
    process.env.FENCE_DB_SSL = 'disable';
    process.env.POWERTOOLS_METRICS_NAMESPACE = 'FenceBucketBrokerTest';

    // Act
    const { result, error, output } = await captured(async () => {
      const { handler } = await import('../../../functions/sync-registry/handler');
      const first = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
      const second = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
      return [first, second];
    });

    // Assess
    expect(error).toBeUndefined();
    expect(result?.[0]).toMatchObject({ inserted: 25, updated: 0, deleted: 0, failed: 0 });
    expect(result?.[1]).toMatchObject({ inserted: 0, unchanged: 25, failed: 0 });
    expect((await mirrorItems(bed.tableName)).size).toBe(25);
    expect(output).toContain('"message":"registry sync"');
    expect(metricsOf(output)).toEqual({
      RegistrySyncInserted: [25, 0],
      RegistrySyncUpdated: [0, 0],
      RegistrySyncDeleted: [0, 0],
      RegistrySyncFailed: [0, 0],
      RegistrySyncPolicyRefused: [0, 0],
      RegistrySyncDeletesHeldBack: [0, 0],
    });
    expect(output).not.toContain(password);
  }, 120_000);

  it('takes {"url": …} as the secret too, and fails a run whose secret has neither shape without echoing it', async () => {
    // Prepare
    await insertRows(bed.db, 3);
    const withUrl = new URL(bed.db.url);
    withUrl.password = password;
    const handlerFor = async (secret: Record<string, unknown>) =>
      createSyncHandler({
        environment: readEnvironment(SyncEnvironmentSchema, {
          REGISTRY_TABLE_NAME: bed.tableName,
          FENCE_DB_SECRET_ARN: await connectionSecret(secret),
          FENCE_DB_SSL: 'disable',
          SYNC_CONCURRENCY: '4',
        }),
        logger: new Logger({ serviceName: 'sync-test' }),
        metrics: new Metrics({ namespace: 'SyncTest', serviceName: 'sync-test' }),
      });
    const good = await handlerFor({ url: withUrl.toString() });
    const bad = await handlerFor({ host: '127.0.0.1', password });

    // Act
    const synced = await captured(() => good({}, context));
    const refused = await captured(() => bad({}, context));

    // Assess
    expect(synced.result).toMatchObject({ inserted: 3, failed: 0 });
    expect(refused.error).toMatchObject({
      message: 'the Fence DB secret must hold url, or host, username and password (an RDS database secret)',
    });
    expect(refused.output).toContain('registry sync failed');
    expect(metricsOf(refused.output)).toEqual({ RegistrySyncRunFailed: [1] });
    expect(synced.output + refused.output).not.toContain(password);
  }, 120_000);
});
