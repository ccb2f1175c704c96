import Table from 'cli-table3';
import type { Command } from 'commander';
import { wireDriftCheck } from '../../drift-check/drift-wiring';
import { DriftEnvironmentSchema } from '../../drift-check/environment';
import { readEnvironment } from '../../shared/config/environment';
import { LATEST_REPORT_KEY, S3DriftReportStore } from '../../shared/drift/drift-report-store';
import { type DriftReport, driftTotals } from '../../shared/drift/drift-results';
import { AdminOperationError } from '../admin-operations';
import { type CliContext, positiveInt, UsageError } from '../cli-context';
import { type CliIo, cell, EXIT, type OutputOptions, progress } from '../output';

interface DriftCheckOptions {
  bucket?: string[];
  concurrency?: number;
  checkTimeout?: number;
  last?: boolean;
  reportBucket?: string;
}

interface GlobalOptions {
  api?: string;
  profile?: string;
  region?: string;
  table?: string;
  prefix?: string;
}

export function driftCheckCommand(program: Command, context: CliContext): void {
  program
    .command('drift-check')
    .description(
      "check every bucket's credentials, keys, KMS key, resource policy and rotation now (exit code 1 when any fails)",
    )
    .option('--bucket <name>', 'check only this bucket (repeat for more)', collect)
    .option(
      '--concurrency <n>',
      'buckets checked at the same time (default: $DRIFT_CONCURRENCY or 16)',
      positiveInt('--concurrency'),
    )
    .option(
      '--check-timeout <seconds>',
      'the longest one check may take (default: $DRIFT_CHECK_TIMEOUT_SECONDS or 10)',
      positiveInt('--check-timeout'),
    )
    .option('--last', "show the scheduled check's last stored result instead of checking now")
    .option(
      '--report-bucket <bucket>',
      'with --last: the report bucket (the stack output DriftReportBucketName)',
    )
    .addHelpText(
      'after',
      `
Runs the drift-check Lambda's own checks in this process, with your AWS credentials.

Examples:
  $ fence-buckets --table FenceBucketBroker-Registry drift-check
  $ fence-buckets --table FenceBucketBroker-Registry drift-check --bucket my-dataset --json
  $ fence-buckets drift-check --last --report-bucket fencebucketbroker-driftreports-abc123
`,
    )
    .action(async (options: DriftCheckOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      if (globals.api !== undefined) {
        throw new UsageError('drift-check runs in process with your AWS credentials: leave out --api');
      }
      const shell = context.env ?? process.env;
      if (globals.profile !== undefined) shell.AWS_PROFILE = globals.profile;
      if (globals.region !== undefined) shell.AWS_REGION = globals.region;
      const report = options.last
        ? await lastReport(options, shell)
        : await checkNow(options, globals, shell, context.io);
      printDriftReport(context.io, context.output(), report);
      if (report.totals.failed > 0) context.exitCode = EXIT.failure;
    });
}

async function checkNow(
  options: DriftCheckOptions,
  globals: GlobalOptions,
  shell: NodeJS.ProcessEnv,
  io: CliIo,
): Promise<DriftReport> {
  if (options.reportBucket !== undefined) throw new UsageError('--report-bucket goes with --last');
  const env = { ...shell };
  if (globals.table !== undefined) env.REGISTRY_TABLE_NAME = globals.table;
  if (globals.prefix !== undefined) env.FENCE_SECRETS_PREFIX = globals.prefix;
  if (!env.REGISTRY_TABLE_NAME) {
    throw new UsageError(
      'name the registry table: --table <name> or REGISTRY_TABLE_NAME (the stack output RegistryTableName)',
    );
  }
  const environment = readEnvironment(DriftEnvironmentSchema, env);
  let bar: ReturnType<typeof progress> | undefined;
  return wireDriftCheck(environment).run({
    ...(options.bucket === undefined ? {} : { buckets: options.bucket }),
    concurrency: options.concurrency ?? environment.DRIFT_CONCURRENCY,
    checkTimeoutMs: (options.checkTimeout ?? environment.DRIFT_CHECK_TIMEOUT_SECONDS) * 1000,
    onResult: (_result, done, total) => {
      bar ??= progress(io, total, 'checking');
      bar.tick();
      if (done === total) bar.stop();
    },
  });
}

async function lastReport(options: DriftCheckOptions, shell: NodeJS.ProcessEnv): Promise<DriftReport> {
  if (options.reportBucket === undefined) throw new UsageError('--last needs --report-bucket <bucket>');
  const store = new S3DriftReportStore(options.reportBucket, { env: shell });
  const report = await store.latest();
  if (report === undefined) {
    throw new AdminOperationError(
      404,
      'no_drift_report',
      `no drift report in s3://${options.reportBucket}/${LATEST_REPORT_KEY} yet`,
    );
  }
  if (options.bucket === undefined) return report;
  const wanted = new Set(options.bucket);
  const results = report.results.filter((result) => wanted.has(result.bucket));
  for (const name of wanted) {
    if (!results.some((result) => result.bucket === name)) {
      throw new AdminOperationError(
        404,
        'unknown_bucket',
        `the last drift report (${report.started_at}) has no bucket ${name}`,
      );
    }
  }
  return { ...report, scope: 'named', totals: driftTotals(results), results };
}

/** The failing buckets with each failing check's reason, then the counts; `--json`: the report. */
function printDriftReport(io: CliIo, options: OutputOptions, report: DriftReport): void {
  if (options.json) {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const failing = report.results.filter((result) => result.status === 'failed');
  if (failing.length > 0) {
    const table = new Table({
      head: ['bucket', 'check', 'reason'],
      style: { head: [], border: [] },
      wordWrap: true,
    });
    for (const result of failing) {
      for (const check of result.checks)
        if (!check.ok) table.push([result.bucket, check.name, check.message].map(cell));
    }
    io.out(`${table.toString()}\n`);
  }
  const { buckets, passed, failed, suspended } = report.totals;
  io.out(
    `${passed} of ${buckets - suspended} bucket(s) passed, ${failed} failed, ${suspended} suspended (not checked); run of ${report.started_at}, ${(report.duration_ms / 1000).toFixed(1)} s\n`,
  );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
