import type { Command } from 'commander';
import { type CliContext, commaSeparated, positiveInt, UsageError } from '../cli-context';
import { printRecord } from '../output';

interface PatchOptions {
  revision?: number;
  pin?: string;
  unpin?: boolean;
  endpoint?: string;
  region?: string;
  allowedOps?: string[];
  maxExpiresIn?: number;
  kmsKeyRef?: string;
}

export function patchCommand(program: Command, context: CliContext): void {
  program
    .command('patch')
    .description(
      'change a bucket record (pin/unpin its secret version, endpoint, region, operations, URL lifetime)',
    )
    .argument('<bucket>', 'bucket name or record id')
    .option(
      '--revision <n>',
      'the revision you read (refused if it changed since); default: the current one',
      positiveInt('--revision'),
    )
    .option('--pin <version>', 'pin the secret to this version id or staging label')
    .option('--unpin', 'follow the latest version (AWSCURRENT) again')
    .option('--endpoint <url>', 'store endpoint')
    .option('--region <region>', 'bucket region')
    .option('--allowed-ops <ops>', 'comma-separated: download,upload,multipart,list', commaSeparated)
    .option(
      '--max-expires-in <seconds>',
      'longest URL lifetime for this bucket',
      positiveInt('--max-expires-in'),
    )
    .option('--kms-key-ref <key>', 'KMS key the secret uses')
    .addHelpText('after', '\nExample:\n  $ fence-buckets patch my-dataset --pin BLUE --revision 3\n')
    .action(async (bucket: string, options: PatchOptions) => {
      if (options.pin !== undefined && options.unpin) throw new UsageError('give --pin or --unpin, not both');
      const changes: Record<string, unknown> = {};
      if (options.pin !== undefined) changes.secret_version = options.pin;
      if (options.unpin) changes.secret_version = null;
      if (options.endpoint !== undefined) changes.endpoint = options.endpoint;
      if (options.region !== undefined) changes.region = options.region;
      if (options.allowedOps !== undefined) changes.allowed_ops = options.allowedOps;
      if (options.maxExpiresIn !== undefined) changes.max_expires_in = options.maxExpiresIn;
      if (options.kmsKeyRef !== undefined) changes.kms_key_ref = options.kmsKeyRef;
      if (Object.keys(changes).length === 0)
        throw new UsageError('nothing to change: give at least one option (see --help)');
      printRecord(
        context.io,
        context.output(),
        await applyChanges(context, bucket, changes, options.revision),
      );
    });
}

/** Suspend and resume: a status change at the current (or given) revision. */
export function statusCommands(program: Command, context: CliContext): void {
  for (const [name, status, description] of [
    ['suspend', 'suspended', 'stop presigning for a bucket (takes effect within the registry cache TTL)'],
    ['resume', 'active', 'presign for a suspended bucket again'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<bucket>', 'bucket name or record id')
      .option('--revision <n>', 'the revision you read; default: the current one', positiveInt('--revision'))
      .addHelpText('after', `\nExample:\n  $ fence-buckets ${name} my-dataset\n`)
      .action(async (bucket: string, options: { revision?: number }) => {
        printRecord(
          context.io,
          context.output(),
          await applyChanges(context, bucket, { status }, options.revision),
        );
      });
  }
}

async function applyChanges(
  context: CliContext,
  bucket: string,
  changes: Record<string, unknown>,
  revision?: number,
) {
  const operations = context.operations();
  const base = revision ?? (await operations.get(bucket)).revision;
  return operations.patch(bucket, { revision: base, ...changes });
}
