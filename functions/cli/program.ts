import { Command, CommanderError } from 'commander';
import { BrokerError } from '../shared/errors';
import { isLoopbackHostname } from '../shared/http/loopback';
import {
  AdminOperationError,
  type AdminOperations,
  adminApiClient,
  inProcessAdmin,
} from './admin-operations';
import { type CliContext, type GlobalOptions, UsageError } from './cli-context';
import { completionCommand } from './commands/completion';
import { dbCommand } from './commands/db';
import { driftCheckCommand } from './commands/drift-check';
import { getCommand } from './commands/get';
import { listCommand } from './commands/list';
import { migrateCommand } from './commands/migrate';
import { patchCommand, statusCommands } from './commands/patch';
import { registerCommand } from './commands/register';
import { rotateCommand } from './commands/rotate';
import { syncCommand } from './commands/sync';
import { validateCommand } from './commands/validate';
import { type CliIo, EXIT, terminalSafeIo } from './output';
import { CLI_VERSION } from './version';

/**
 * `fence-buckets`: the admin core from a shell. In process with the operator's AWS credentials
 * (the SDK's chain), or through the admin API with `--api URL` (SigV4). Returns the exit code:
 * 0 ok, 1 failure, 2 usage.
 */
export async function runCli(
  argv: string[],
  terminal: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const io = terminalSafeIo(terminal);
  const program = new Command('fence-buckets');
  let operations: AdminOperations | undefined;
  const globals = () => program.opts<GlobalOptions>();
  const context: CliContext = {
    io,
    env,
    exitCode: EXIT.ok,
    output: () => ({ json: globals().json === true }),
    operations: () => {
      operations ??= buildOperations(globals(), env, io);
      return operations;
    },
  };
  program
    .description('Register and manage the buckets fence-bucket-broker presigns for.')
    .version(CLI_VERSION, '-V, --version', 'print the version of fence-buckets')
    .option('--json', 'machine-readable output')
    .option('--api <url>', 'call the admin API at this URL (SigV4) instead of AWS directly')
    .option('--profile <profile>', 'AWS profile (in process, or for signing --api calls)')
    .option('--region <region>', 'AWS region')
    .option('--table <name>', 'registry table (default: $REGISTRY_TABLE_NAME)')
    .option('--prefix <prefix>', 'secrets name prefix (default: $FENCE_SECRETS_PREFIX or gen3/fence/)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fence-buckets --table FenceBucketBroker-Registry list\n  $ fence-buckets --api https://abc.execute-api.us-east-1.amazonaws.com/prod validate --all\n',
    );
  for (const add of [
    listCommand,
    getCommand,
    registerCommand,
    patchCommand,
    statusCommands,
    rotateCommand,
    validateCommand,
    migrateCommand,
    dbCommand,
    syncCommand,
    driftCheckCommand,
    completionCommand,
  ]) {
    add(program, context);
  }
  for (const command of program.commands)
    command.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return context.exitCode;
  } catch (error) {
    return report(error, io);
  }
}

function buildOperations(options: GlobalOptions, env: NodeJS.ProcessEnv, io: CliIo): AdminOperations {
  if (options.profile !== undefined) env.AWS_PROFILE = options.profile;
  if (options.region !== undefined) env.AWS_REGION = options.region;
  if (options.api !== undefined) {
    return adminApiClient(
      adminApiUrl(options.api),
      options.region === undefined ? {} : { region: options.region },
    );
  }
  const settings = { ...env };
  if (options.table !== undefined) settings.REGISTRY_TABLE_NAME = options.table;
  if (options.prefix !== undefined) settings.FENCE_SECRETS_PREFIX = options.prefix;
  if (!settings.REGISTRY_TABLE_NAME) {
    throw new UsageError(
      'name the registry table: --table <name> or REGISTRY_TABLE_NAME (the stack output RegistryTableName), or use --api',
    );
  }
  // Each write's audit line goes to stderr as JSON, beside any table or --json result on stdout.
  return inProcessAdmin(settings, {
    audit: (line) => io.err(`${JSON.stringify({ audit: line })}\n`),
    warn: (message, details) => io.err(`${JSON.stringify({ warning: message, ...details })}\n`),
  });
}

/**
 * `--api`'s URL: `https`, or `http` to this machine only (the local runner). Over plain `http`
 * elsewhere, anyone on the path could read the keys a registration sends and the signed
 * requests, and answer in the API's place.
 */
function adminApiUrl(api: string): string {
  let url: URL;
  try {
    url = new URL(api);
  } catch {
    throw new UsageError('--api must be a URL: https://<api-id>.execute-api.<region>.amazonaws.com/<stage>');
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHostname(url.hostname))) {
    return api;
  }
  throw new UsageError(
    url.protocol === 'http:'
      ? `--api must be https:// (plain http:// only to this machine: 127.0.0.1, localhost or [::1]), not http://${url.host}`
      : `--api must be an https:// URL, not ${url.protocol}`,
  );
}

/** An error as one line on stderr and its exit code; never a stack trace. */
function report(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander; they are not failures.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
      ? EXIT.ok
      : EXIT.usage;
  }
  if (error instanceof UsageError) {
    io.err(`error: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof BrokerError || error instanceof AdminOperationError) {
    const requestId =
      error instanceof AdminOperationError && error.requestId ? ` (request ${error.requestId})` : '';
    io.err(`error: ${error.code}: ${error.message}${requestId}\n`);
    return EXIT.failure;
  }
  io.err(`error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
  return EXIT.failure;
}
