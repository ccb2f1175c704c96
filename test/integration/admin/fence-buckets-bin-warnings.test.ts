import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRegistryTable, dynamoDb } from '../support/aws';

const run = promisify(execFile);
const REPO = join(__dirname, '../../..');
const SDK_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
// The SDK warns below this major (@aws-sdk/core emitWarningIfUnsupportedVersion); issue 22 moves
// the toolchain past it, and then the control below expects silence too.
const SDK_SUPPORTED_NODE_MAJOR = 22;
const nodeMajor = Number(process.versions.node.split('.')[0]);

/** The test's environment without the SDK's switch, as an operator's shell would have it. */
function operatorEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env[SDK_SWITCH];
  return env;
}

describe('CLI: bin/fence-buckets.mjs as a process', () => {
  it('never prints the AWS SDK NodeVersionSupportWarning, which an SDK client prints on this Node otherwise', async () => {
    // Prepare: a registry table on moto, so `list` builds a DynamoDB client and really calls it.
    const table = await createRegistryTable(dynamoDb());
    const env = operatorEnv({ REGISTRY_TABLE_NAME: table });

    // Act: the control (an SDK client in a bare Node process on the same Node and environment),
    // then the CLI as the package bin runs it.
    const control = await run(
      process.execPath,
      [
        '-e',
        "const { DynamoDBClient, ListTablesCommand } = require('@aws-sdk/client-dynamodb');" +
          'new DynamoDBClient({}).send(new ListTablesCommand({})).then(() => {});',
      ],
      { cwd: REPO, env, encoding: 'utf8' },
    );
    const cli = await run(process.execPath, ['bin/fence-buckets.mjs', '--json', 'list'], {
      cwd: REPO,
      env,
      encoding: 'utf8',
    });

    // Assess: on a Node the SDK warns about (v20 here) the control shows the warning, so the
    // CLI's silence is its own doing; the CLI ran and answered.
    expect(control.stderr.includes('NodeVersionSupportWarning')).toBe(nodeMajor < SDK_SUPPORTED_NODE_MAJOR);
    expect(cli.stderr).not.toContain('NodeVersionSupportWarning');
    expect(cli.stderr).not.toContain('Warning');
    expect(JSON.parse(cli.stdout)).toEqual(expect.anything());
  }, 60_000);
});
