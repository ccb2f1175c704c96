import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REGISTRY_TABLE_KEYS } from '../functions/shared/registry/dynamodb-bucket-registry';
import { DynamoDbRegistryMirror } from '../functions/shared/registry/dynamodb-registry-mirror';
import { openFenceDbPool } from '../functions/shared/registry/fence-db-connection';
import { migrateFenceDb } from '../functions/shared/registry/fence-db-migrations';
import {
  FENCE_DB_REGISTRY_TABLE,
  PostgresBucketRegistry,
} from '../functions/shared/registry/postgres-bucket-registry';
import { syncRegistry } from '../functions/shared/registry/registry-sync';
import { startMoto } from '../test/integration/services/moto';
import { startPostgres } from '../test/integration/services/postgres';

/**
 * `npm run bench:sync`: Fence DB (a PostgreSQL of its own) with 10,000 rows mirrored into an
 * empty DynamoDB table on moto, then mirrored again unchanged; both with the default batched
 * writes, then both with one conditional PutItem per record (`writes: 'conditional'`). Prints one
 * JSON line per run: wall time and the DynamoDB write requests sent (counted on the client).
 */
const ROWS = Number(process.env.SYNC_BENCH_ROWS ?? 10_000);
const CONCURRENCY = Number(process.env.SYNC_BENCH_CONCURRENCY ?? 16);

async function main(): Promise<void> {
  const [moto, postgres] = await Promise.all([startMoto(), startPostgres()]);
  try {
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_REGION ??= 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID ??= 'testing';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
    const pool = openFenceDbPool({ connectionString: postgres.url });
    await migrateFenceDb(pool);
    await pool.query(
      `INSERT INTO ${FENCE_DB_REGISTRY_TABLE} (id, bucket_name, provider, auth_mode, role_arn, region, allowed_ops)
       SELECT gen_random_uuid(), 'bucket-' || lpad(i::text, 5, '0'), 'aws', 'role',
              'arn:aws:iam::123456789012:role/gen3-bucket-access', 'us-east-1', ARRAY['download']
       FROM generate_series(1, $1::int) AS i`,
      [ROWS],
    );
    await pool.end();

    const client = new DynamoDBClient({});
    let writes = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (/^(PutItem|DeleteItem|UpdateItem|BatchWriteItem)Command$/.test(context.commandName ?? ''))
          writes++;
        return next(args);
      },
      { step: 'initialize', name: 'countWrites' },
    );
    const table = async (name: string) => {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: REGISTRY_TABLE_KEYS.partitionKey, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: REGISTRY_TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
        }),
      );
      return name;
    };
    const source = PostgresBucketRegistry.connect({ connectionString: postgres.url });
    const runs = [
      { table: 'registry', writes: 'batched', run: 'first' },
      { table: 'registry', writes: 'batched', run: 'rerun' },
      { table: 'registry-conditional', writes: 'conditional', run: 'first' },
      { table: 'registry-conditional', writes: 'conditional', run: 'rerun' },
    ] as const;
    const tables = new Set<string>();
    for (const { table: name, writes: mode, run } of runs) {
      if (!tables.has(name)) tables.add(await table(name));
      const mirror = new DynamoDbRegistryMirror(name, { client });
      const before = writes;
      const started = performance.now();
      const report = await syncRegistry(source, mirror, { concurrency: CONCURRENCY, writes: mode });
      print({
        bench: 'sync',
        impl:
          mode === 'batched'
            ? 'BatchWriteItem (25 a request) under FOR SHARE row locks, the default'
            : 'one conditional PutItem per record',
        run,
        rows: ROWS,
        concurrency: CONCURRENCY,
        wall_ms: Math.round(performance.now() - started),
        dynamodb_writes: writes - before,
        inserted: report.inserted,
        unchanged: report.unchanged,
        failed: report.failed,
      });
    }
    await source.close();
  } finally {
    await Promise.all([moto.process.stop(), postgres.process.stop()]);
  }
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
