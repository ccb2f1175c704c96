import Table from 'cli-table3';
import type { Command } from 'commander';
import type { MigrationReport } from '../../shared/migration/fence-config-migration';
import { iamRotationSettings } from '../../shared/rotation/iam-rotation-enrollment';
import { DEFAULT_ROTATION_DAYS } from '../../shared/rotation/rotation-interval';
import { type CliContext, type GlobalOptions, positiveInt, UsageError } from '../cli-context';
import { inProcessMigration } from '../migration-operations';
import { type CliIo, cell, EXIT } from '../output';

interface MigrateOptions {
  config: string;
  dryRun?: boolean;
  validate: boolean;
  backend?: string;
  removeSharedCredentials?: boolean;
  enableRotation?: boolean;
  rotationFunctionArn?: string;
  iamUserPath?: string;
  rotationDays: number;
}

const BACKENDS = ['aws_sm', 'k8s'] as const;

export function migrateCommand(program: Command, context: CliContext): void {
  program
    .command('migrate')
    .description(
      "move fence-config.yaml's bucket keys into the secrets manager and its buckets into the registry, then remove the keys from the file",
    )
    .requiredOption('--config <file>', "Fence's fence-config.yaml (rewritten in place)")
    .option('--dry-run', 'print the plan and the file changes; write no secret, record or file')
    .option('--no-validate', "register without proving each bucket's credentials on the bucket")
    .option(
      '--backend <backend>',
      'aws_sm or k8s: where the keys go (default: the first of $FENCE_SECRETS_BACKEND)',
    )
    .option(
      '--remove-shared-credentials',
      'also remove keys that another Fence setting uses (PUSH_AUDIT_LOGS_CONFIG.aws_sqs_config.aws_cred)',
    )
    .option(
      '--enable-rotation',
      'turn on IAM-user-key rotation for each moved AWS credential whose IAM user is under --iam-user-path (the dry run shows which can be rotated and why others cannot)',
    )
    .option(
      '--rotation-function-arn <arn>',
      'the IAM key rotation function (default: $FENCE_IAM_ROTATION_FUNCTION_ARN; the stack output IamKeyRotationFunctionArn)',
    )
    .option(
      '--iam-user-path <path>',
      "IAM path of the users the rotation may touch: the deployment's rotatedIamUserPath (default: $FENCE_ROTATED_IAM_USER_PATH)",
    )
    .option(
      '--rotation-days <days>',
      "rotation interval in days: the deployment's rotationDays",
      positiveInt('--rotation-days'),
      DEFAULT_ROTATION_DAYS,
    )
    .addHelpText(
      'after',
      `
Each credential becomes the secret <prefix>fence-config/<CRED>; safe to run again after any failure.
Exit code 0 when every bucket is migrated and the file holds no bucket key, 1 otherwise.

Example:
  $ fence-buckets --table FenceBucketBroker-Registry migrate --config fence-config.yaml --dry-run
`,
    )
    .action(async (options: MigrateOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions & MigrateOptions>();
      if (globals.api !== undefined) {
        throw new UsageError(
          'migrate runs in process with your AWS credentials: leave out --api, give --table',
        );
      }
      if (options.backend !== undefined && !(BACKENDS as readonly string[]).includes(options.backend)) {
        throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}`);
      }
      // As for the other commands: the AWS SDK reads the profile and region from the environment itself.
      const shell = context.env ?? process.env;
      if (globals.profile !== undefined) shell.AWS_PROFILE = globals.profile;
      if (globals.region !== undefined) shell.AWS_REGION = globals.region;
      const env = { ...shell };
      if (globals.table !== undefined) env.REGISTRY_TABLE_NAME = globals.table;
      if (globals.prefix !== undefined) env.FENCE_SECRETS_PREFIX = globals.prefix;
      if (!env.REGISTRY_TABLE_NAME) {
        throw new UsageError(
          'name the registry table: --table <name> or REGISTRY_TABLE_NAME (the stack output RegistryTableName)',
        );
      }
      const rotationOptionGiven =
        options.rotationFunctionArn !== undefined || options.iamUserPath !== undefined;
      if (rotationOptionGiven && options.enableRotation !== true) {
        throw new UsageError('--rotation-function-arn and --iam-user-path go with --enable-rotation');
      }
      if (options.enableRotation === true && options.backend === 'k8s') {
        throw new UsageError(
          '--enable-rotation rotates IAM user keys in AWS Secrets Manager: leave out --backend k8s',
        );
      }
      const rotation =
        options.enableRotation === true
          ? iamRotationSettings({
              functionArn: options.rotationFunctionArn ?? env.FENCE_IAM_ROTATION_FUNCTION_ARN,
              userPath: options.iamUserPath ?? env.FENCE_ROTATED_IAM_USER_PATH,
              rotationDays: options.rotationDays,
            })
          : undefined;
      const migration = await inProcessMigration(env, {
        ...(options.backend === undefined ? {} : { backend: options.backend as (typeof BACKENDS)[number] }),
        ...(rotation === undefined ? {} : { rotation }),
        audit: (line) => context.io.err(`${JSON.stringify({ audit: line })}\n`),
      });
      const report = await migration.run({
        configPath: options.config,
        dryRun: options.dryRun === true,
        validate: options.validate,
        removeSharedCredentials: options.removeSharedCredentials === true,
      });
      if (context.output().json) context.io.out(`${JSON.stringify(report, null, 2)}\n`);
      else printReport(context.io, report);
      if (!report.ok) context.exitCode = EXIT.failure;
    });
}

function printReport(io: CliIo, report: MigrationReport): void {
  const style = { head: [], border: [] };
  const out: string[] = [];
  if (report.secrets.length > 0) {
    const secrets = new Table({ head: ['credential', 'secret', 'outcome', 'buckets', 'message'], style });
    for (const secret of report.secrets) {
      secrets.push(
        [secret.credential, secret.name, secret.outcome, secret.buckets.join(','), secret.message ?? ''].map(
          cell,
        ),
      );
    }
    out.push(`Secrets\n${secrets.toString()}`);
  }
  if (report.records.length > 0) {
    const records = new Table({
      head: ['bucket', 'auth_mode', 'provider', 'credential', 'outcome', 'message'],
      style,
    });
    for (const record of report.records) {
      records.push(
        [
          record.bucket,
          record.auth_mode,
          record.provider,
          record.credential,
          record.outcome,
          record.message ?? '',
        ].map(cell),
      );
    }
    out.push(`Records\n${records.toString()}`);
  }
  const rotations = report.secrets.filter((secret) => secret.rotation !== undefined);
  if (rotations.length > 0) {
    const table = new Table({ head: ['credential', 'iam user', 'rotation', 'reason', 'message'], style });
    for (const secret of rotations) {
      const rotation = secret.rotation;
      table.push(
        [
          secret.credential,
          rotation?.iam_user_name ?? '',
          rotation?.outcome ?? '',
          rotation?.reason ?? '',
          rotation?.message ?? '',
        ].map(cell),
      );
    }
    out.push(`Rotation\n${table.toString()}`);
  }
  for (const skipped of report.skipped) out.push(`skipped ${skipped.bucket}: ${skipped.reason}`);
  const { file } = report;
  if (report.dry_run && file.diff !== '') out.push(`File changes (keys redacted)\n${file.diff.trimEnd()}`);
  for (const kept of file.kept) out.push(`kept ${kept.credential}: ${kept.message}`);
  for (const refused of file.refused) out.push(`not rewritten ${refused.credential}: ${refused.reason}`);
  for (const leftover of file.leftovers) {
    out.push(
      `leftover: a key of ${leftover.credential} still appears on line ${leftover.line} of ${file.path}: remove it by hand`,
    );
  }
  for (const note of report.notes) out.push(`note: ${note}`);
  const summary = new Table({ style });
  const { counts } = report;
  summary.push(
    { [report.dry_run ? 'secrets to create' : 'secrets created']: String(counts.secrets_created) },
    { 'secrets reused': String(counts.secrets_reused) },
    { [report.dry_run ? 'secrets to update' : 'secrets updated']: String(counts.secrets_updated) },
    { [report.dry_run ? 'records to register' : 'records registered']: String(counts.records_registered) },
    { 'records existing': String(counts.records_existing) },
    { 'buckets skipped': String(counts.buckets_skipped) },
    ...(counts.rotation_enabled === undefined
      ? []
      : [
          { [report.dry_run ? 'rotation to enable' : 'rotation enabled']: String(counts.rotation_enabled) },
          { 'rotation existing': String(counts.rotation_existing ?? 0) },
        ]),
    {
      file: `${file.outcome}${file.credentials.length > 0 ? ` (${file.credentials.join(', ')})` : ''}`,
    },
  );
  out.push(`${report.dry_run ? 'Plan (dry run: nothing written)' : 'Summary'}\n${summary.toString()}`);
  out.push(
    report.ok
      ? report.dry_run
        ? 'dry run: nothing was written'
        : 'migration complete'
      : `migration incomplete: ${counts.problems} problem(s) above; fix them and run again (safe to rerun)`,
  );
  io.out(`${out.join('\n\n')}\n`);
}
