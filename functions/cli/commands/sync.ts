import Table from 'cli-table3';
import type { Command } from 'commander';
import * as z from 'zod/mini';
import { readEnvironment } from '../../shared/config/environment';
import { storeEndpointPolicy } from '../../shared/network/store-endpoint-policy';
import { RECORD_POLICY_ENVIRONMENT, recordPolicyFrom } from '../../shared/registry/record-policy';
import { DEFAULT_DELETE_CAP, type SyncReport } from '../../shared/registry/registry-sync';
import { runRegistrySync } from '../../sync-registry/sync-wiring';
import { type CliContext, fenceDbConnection, positiveInt, UsageError } from '../cli-context';
import { EXIT, progress } from '../output';

const COUNTS = ['inserted', 'updated', 'deleted', 'unchanged', 'skipped', 'failed'] as const;

export function syncCommand(program: Command, context: CliContext): void {
  program
    .command('sync')
    .description(
      'mirror Fence DB into the DynamoDB registry table: insert, update when newer, delete what Fence DB dropped',
    )
    .option('--database-url <url>', 'Fence DB (default: $FENCE_DB_URL)')
    .option('--dry-run', 'print the differences and write nothing')
    .option(
      '--verify-content',
      'also read every item whole, and rewrite those that differ from Fence DB at the same revision (edited by hand in DynamoDB)',
    )
    .option(
      '--concurrency <n>',
      'DynamoDB write requests in flight at once (default 16)',
      positiveInt('--concurrency'),
    )
    .option(
      '--max-delete-fraction <share>',
      `the share of the mirror (0–1) this run may delete, at least one item; past it nothing is deleted (default ${DEFAULT_DELETE_CAP.fraction}; 1 lets Fence DB drop any number of buckets, or all)`,
      deleteFraction,
    )
    .addHelpText(
      'after',
      `
The table is --table or $REGISTRY_TABLE_NAME. Fence DB's TLS is verified as for db migrate
(FENCE_DB_SSL, default verify). No write puts back an older record, even with
syncs running at once or racing an admin write: inserts and updates are written in batches
while Fence DB holds those rows locked, deletes only if the item is still the version scanned.
A row that breaks the record policy ($FENCE_SECRETS_PREFIX or --prefix, $MAX_URL_LIFETIME_SECONDS)
is reported, not copied; a run that would delete more than --max-delete-fraction deletes nothing.

Examples:
  $ fence-buckets --table FenceBucketBroker-Registry sync --database-url postgres://fence@db/fence --dry-run
  $ FENCE_DB_URL=postgres://fence@db/fence fence-buckets --table FenceBucketBroker-Registry sync
`,
    )
    .action(
      async (options: {
        databaseUrl?: string;
        dryRun?: boolean;
        verifyContent?: boolean;
        concurrency?: number;
        maxDeleteFraction?: number;
      }) => {
        const tableName = program.opts<{ table?: string }>().table ?? context.env.REGISTRY_TABLE_NAME;
        if (!tableName) {
          throw new UsageError('name the registry table: --table <name> or REGISTRY_TABLE_NAME');
        }
        const settings = { ...context.env };
        const prefix = program.opts<{ prefix?: string }>().prefix;
        if (prefix !== undefined) settings.FENCE_SECRETS_PREFIX = prefix;
        const policy = {
          ...recordPolicyFrom(readEnvironment(z.object(RECORD_POLICY_ENVIRONMENT), settings)),
          endpoints: storeEndpointPolicy(settings),
        };
        let bar: ReturnType<typeof progress> | undefined;
        const report = await runRegistrySync(
          { connection: fenceDbConnection(context, options.databaseUrl), tableName },
          {
            dryRun: options.dryRun === true,
            verifyContent: options.verifyContent === true,
            ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
            policy,
            deleteCap: {
              ...DEFAULT_DELETE_CAP,
              fraction: options.maxDeleteFraction ?? DEFAULT_DELETE_CAP.fraction,
            },
            onPlan: (writes) => {
              bar = progress(context.io, writes, 'sync');
            },
            onProgress: () => bar?.tick(),
          },
        );
        bar?.stop();
        printReport(context, report);
        if (report.failed > 0) context.exitCode = EXIT.failure;
      },
    );
}

function printReport(context: CliContext, report: SyncReport): void {
  const { io } = context;
  if (context.output().json) {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const style = { head: [], border: [] };
  if (report.dry_run && report.changes.length > 0) {
    const diff = new Table({ head: ['action', 'bucket', 'source revision', 'mirror revision'], style });
    for (const change of report.changes) {
      diff.push([
        change.action,
        change.bucket_name,
        change.source_revision === undefined ? '' : String(change.source_revision),
        change.mirror_revision === undefined ? '' : String(change.mirror_revision),
      ]);
    }
    io.out(`${diff.toString()}\n`);
  }
  if (report.failures.length > 0) {
    const failures = new Table({ head: ['bucket', 'action', 'code', 'error'], style });
    for (const failure of report.failures)
      failures.push([failure.bucket_name, failure.action, failure.code, failure.error]);
    io.out(`${failures.toString()}\n`);
  }
  const summary = new Table({ head: [...COUNTS], style });
  summary.push(COUNTS.map((name) => String(report[name])));
  io.out(`${summary.toString()}\n${report.dry_run ? 'dry run: nothing was written\n' : ''}`);
}

/** A share from 0 to 1. */
function deleteFraction(value: string): number {
  const share = Number(value);
  if (value.trim() === '' || !Number.isFinite(share) || share < 0 || share > 1) {
    throw new UsageError('--max-delete-fraction must be a number from 0 to 1');
  }
  return share;
}
