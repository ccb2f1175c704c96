import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { iamRotationSettings } from '../../shared/rotation/iam-rotation-enrollment';
import { DEFAULT_ROTATION_DAYS } from '../../shared/rotation/rotation-interval';
import { type CliContext, commaSeparated, type GlobalOptions, positiveInt, UsageError } from '../cli-context';
import { printRecord } from '../output';
import { registerWithRotation } from '../rotation-operations';

interface RegisterOptions {
  fromFile?: string;
  bucket?: string;
  provider?: string;
  authMode?: string;
  secretsBackend?: string;
  secretRef?: string;
  secretVersion?: string;
  roleArn?: string;
  externalId?: string;
  gcpServiceAccount?: string;
  kmsKeyRef?: string;
  endpoint?: string;
  region?: string;
  allowedOps?: string[];
  maxExpiresIn?: number;
  createSecret?: boolean;
  secretFile?: string;
  secretStdin?: boolean;
  validate: boolean;
  rotate?: boolean;
  rotationFunctionArn?: string;
  iamUserPath?: string;
  rotationDays: number;
}

const FIELDS: [keyof RegisterOptions, string][] = [
  ['bucket', 'bucket_name'],
  ['provider', 'provider'],
  ['authMode', 'auth_mode'],
  ['secretsBackend', 'secrets_backend'],
  ['secretRef', 'secret_ref'],
  ['secretVersion', 'secret_version'],
  ['roleArn', 'role_arn'],
  ['externalId', 'external_id'],
  ['gcpServiceAccount', 'gcp_service_account'],
  ['kmsKeyRef', 'kms_key_ref'],
  ['endpoint', 'endpoint'],
  ['region', 'region'],
  ['allowedOps', 'allowed_ops'],
  ['maxExpiresIn', 'max_expires_in'],
];

export function registerCommand(program: Command, context: CliContext): void {
  program
    .command('register')
    .description('register a bucket; its credentials are proven on the bucket before anything is saved')
    .option('--from-file <file>', 'the registration as JSON (record fields, no keys)')
    .option('--bucket <name>', 'bucket name')
    .option('--provider <provider>', 'aws, gcp, s3_compatible or minio')
    .option('--auth-mode <mode>', 'static, role or workload_identity')
    .option('--secrets-backend <backend>', 'aws_sm, k8s or vault (static mode)')
    .option('--secret-ref <ref>', 'an existing secret under the prefix that holds the keys')
    .option('--secret-version <version>', 'pin a version id or staging label')
    .option('--role-arn <arn>', 'role to assume (role mode)')
    .option('--external-id <id>', 'external id for AssumeRole (role mode)')
    .option('--gcp-service-account <email>', 'service account to sign as (provider gcp, workload_identity)')
    .option('--kms-key-ref <key>', 'KMS key of the secret (used when the secret is created)')
    .option('--endpoint <url>', 'store endpoint (MinIO, S3-compatible)')
    .option('--region <region>', 'bucket region')
    .option('--allowed-ops <ops>', 'comma-separated: download,upload,multipart,list', commaSeparated)
    .option(
      '--max-expires-in <seconds>',
      'longest URL lifetime for this bucket',
      positiveInt('--max-expires-in'),
    )
    .option('--create-secret', 'write the keys to the secrets manager under <prefix><provider>/<bucket>')
    .option(
      '--secret-file <file>',
      'with --create-secret: a JSON file holding access_key_id and secret_access_key (provider gcp: the service-account key file)',
    )
    .option('--secret-stdin', 'with --create-secret: read that JSON from stdin')
    .option('--no-validate', 'save without proving the credentials on the bucket')
    .option(
      '--rotate',
      "static AWS bucket, keys in AWS Secrets Manager: turn on IAM-user-key rotation for its secret (the key's user must be under --iam-user-path; checked before anything is written)",
    )
    .option(
      '--rotation-function-arn <arn>',
      'with --rotate: the IAM key rotation function (default: $FENCE_IAM_ROTATION_FUNCTION_ARN; the stack output IamKeyRotationFunctionArn)',
    )
    .option(
      '--iam-user-path <path>',
      "with --rotate: the deployment's rotatedIamUserPath (default: $FENCE_ROTATED_IAM_USER_PATH)",
    )
    .option(
      '--rotation-days <days>',
      "with --rotate: rotation interval in days, the deployment's rotationDays",
      positiveInt('--rotation-days'),
      DEFAULT_ROTATION_DAYS,
    )
    .addHelpText(
      'after',
      `
Keys are never taken from the command line: give them in a file, on stdin, or at the prompt.

Examples:
  $ fence-buckets register --bucket my-dataset --provider minio --auth-mode static \\
      --endpoint https://minio.example.org --allowed-ops download,upload \\
      --create-secret --secret-file keys.json
  $ fence-buckets register --bucket my-aws-bucket --provider aws --auth-mode role \\
      --role-arn arn:aws:iam::111122223333:role/gen3-bucket-access --allowed-ops download
  $ fence-buckets register --bucket my-gcs-bucket --provider gcp --auth-mode workload_identity \\
      --gcp-service-account reader@my-project.iam.gserviceaccount.com --allowed-ops download
`,
    )
    .action(async (options: RegisterOptions, command: Command) => {
      const body: Record<string, unknown> =
        options.fromFile === undefined
          ? {}
          : (JSON.parse(await readFile(options.fromFile, 'utf8')) as Record<string, unknown>);
      for (const [option, field] of FIELDS) if (options[option] !== undefined) body[field] = options[option];
      if ('secret' in body)
        throw new UsageError(
          'keys do not belong in --from-file: use --secret-file, --secret-stdin or the prompt',
        );
      if (options.createSecret) {
        body.create_secret = true;
        body.secret = asSecret(await readKeys(context, options), body.provider);
      } else if (options.secretFile !== undefined || options.secretStdin) {
        throw new UsageError('--secret-file and --secret-stdin go with --create-secret');
      }
      if (options.rotate === true) {
        if (command.optsWithGlobals<GlobalOptions>().api !== undefined) {
          throw new UsageError(
            'register --rotate runs in process with your AWS credentials: leave out --api, give --table',
          );
        }
        const env = { ...context.env };
        const globals = command.optsWithGlobals<GlobalOptions>();
        if (globals.table !== undefined) env.REGISTRY_TABLE_NAME = globals.table;
        if (globals.prefix !== undefined) env.FENCE_SECRETS_PREFIX = globals.prefix;
        const rotation = iamRotationSettings({
          functionArn: options.rotationFunctionArn ?? env.FENCE_IAM_ROTATION_FUNCTION_ARN,
          userPath: options.iamUserPath ?? env.FENCE_ROTATED_IAM_USER_PATH,
          rotationDays: options.rotationDays,
        });
        const result = await registerWithRotation(env, context.operations(), body, {
          validate: options.validate,
          rotation,
        });
        printRecord(context.io, context.output(), result.record);
        if (context.output().json) context.io.err(`${JSON.stringify({ rotation: result.rotation })}\n`);
        else {
          context.io.out(
            `rotation ${result.rotation.outcome.replace('_', ' ')}: IAM user ${result.rotation.iam_user_name}, every ${result.rotation.rotation_days} days\n`,
          );
        }
        return;
      }
      if (options.rotationFunctionArn !== undefined || options.iamUserPath !== undefined) {
        throw new UsageError('--rotation-function-arn and --iam-user-path go with --rotate');
      }
      const record = await context.operations().register(body, { validate: options.validate });
      printRecord(context.io, context.output(), record);
    });
}

/** A GCP bucket's secret is its service-account key file, wrapped as the plan's shape requires. */
function asSecret(keys: Record<string, string>, provider: unknown): Record<string, string> {
  if (provider === 'gcp' && (keys as { type?: unknown }).type === 'service_account') {
    return { service_account_key_json: JSON.stringify(keys) };
  }
  return keys;
}

/** The keys, from a file, stdin or the terminal; never from argv, never echoed. */
async function readKeys(context: CliContext, options: RegisterOptions): Promise<Record<string, string>> {
  let text: string | undefined;
  if (options.secretFile !== undefined) text = await readFile(options.secretFile, 'utf8');
  else if (options.secretStdin) text = await context.io.stdin();
  if (text !== undefined) {
    try {
      return JSON.parse(text) as Record<string, string>;
    } catch {
      throw new UsageError(
        'the keys must be a JSON object such as {"access_key_id": "...", "secret_access_key": "..."}',
      );
    }
  }
  if (context.io.prompt === undefined) {
    throw new UsageError(
      '--create-secret needs the keys: --secret-file <file>, --secret-stdin, or run it in a terminal',
    );
  }
  const accessKeyId = await context.io.prompt('access_key_id: ', false);
  const secretAccessKey = await context.io.prompt('secret_access_key (hidden): ', true);
  return { access_key_id: accessKeyId, secret_access_key: secretAccessKey };
}
