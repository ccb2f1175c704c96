import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { terminalSafe } from '../../../functions/cli/output';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { createRegistryTable, dynamoDb, secretsManager, uniqueName } from '../support/aws';
import { cli } from '../support/cli';

/** What a store under someone else's control may put in its error `<Code>`: a title change, a bell, a screen wipe. */
const HOSTILE_CODE = 'AccessDenied\u001b]0;owned\u0007\u001b[2J\u009b31m\u202e';
/** Whether `text` holds a character a terminal could act on (C0 but newline, DEL, C1, bidi controls). */
function hasTerminalControl(text: string): boolean {
  return [...text].some((character) => {
    const code = character.codePointAt(0) ?? 0;
    return (
      (code < 0x20 && character !== '\n') ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069)
    );
  });
}

describe('CLI output: control characters from a store never reach the terminal', () => {
  let store: Server;
  let endpoint: string;
  let env: NodeJS.ProcessEnv;
  let bucket: string;

  beforeAll(async () => {
    // Prepare: a fake GCS XML API on loopback that refuses every request with the hostile code.
    store = createServer((_request, response) => {
      response.writeHead(403, { 'content-type': 'application/xml' });
      response.end(`<?xml version="1.0"?><Error><Code>${HOSTILE_CODE}</Code></Error>`);
    });
    await new Promise<void>((ready) => store.listen(0, '127.0.0.1', ready));
    endpoint = `http://127.0.0.1:${(store.address() as AddressInfo).port}`;
    const table = await createRegistryTable(dynamoDb());
    env = { REGISTRY_TABLE_NAME: table };
    bucket = uniqueName('gcs-hostile');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const name = `gen3/fence/gcp/${bucket}`;
    await secretsManager().send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({
          service_account_key_json: JSON.stringify({
            type: 'service_account',
            client_email: `${bucket}@gen3-project.iam.gserviceaccount.com`,
            private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          }),
        }),
      }),
    );
    // Written to the registry directly: the record is what a sync or an older release left there.
    await new DynamoDbBucketRegistry(table).create({
      bucket_name: bucket,
      provider: 'gcp',
      auth_mode: 'static',
      secrets_backend: 'aws_sm',
      secret_ref: name,
      endpoint,
      allowed_ops: ['download'],
    });
  });

  afterAll(async () => {
    await new Promise((closed) => store.close(closed));
  });

  it("validate and drift-check, as tables and as JSON, report the refusal without the store's code", async () => {
    // Act
    const results = {
      validate: await cli(['validate', bucket], env),
      validateJson: await cli(['--json', 'validate', bucket], env),
      drift: await cli(['drift-check', '--bucket', bucket], env),
      driftJson: await cli(['--json', 'drift-check', '--bucket', bucket], env),
    };

    // Assess: the store's refusal is reported (exit 1), no output holds a control character, and
    // the probe names a store's code only when it looks like one, so none of this code is repeated.
    for (const [name, result] of Object.entries(results)) {
      expect({ name, code: result.code }).toEqual({ name, code: 1 });
      expect({ name, controls: hasTerminalControl(result.out + result.err) }).toEqual({
        name,
        controls: false,
      });
      expect({ name, repeated: (result.out + result.err).includes(']0;owned') }).toEqual({
        name,
        repeated: false,
      });
    }
    const validated = JSON.parse(results.validateJson.out) as { checks: { name: string; ok: boolean }[] };
    expect(validated.checks.find((check) => check.name === 'bucket_access')?.ok).toBe(false);
  }, 60_000);

  it('shows text that reaches the output boundary with each control as a visible \\u escape', async () => {
    // Act: a name with a screen wipe, echoed by the not-found answer (the boundary, not the store
    // layer, is what stands between it and the terminal).
    const result = await cli(['validate', `no-such-${HOSTILE_CODE}`], env);

    // Assess
    expect(result.code).not.toBe(0);
    expect(hasTerminalControl(result.out + result.err)).toBe(false);
    expect(result.out + result.err).toContain('\\u001b]0;owned\\u0007');
  }, 60_000);

  it('terminalSafe keeps newlines and plain text, and is idempotent', () => {
    // Act
    const once = terminalSafe(`line 1\nbell\u0007 tab\t cr\r del\u007f`);

    // Assess
    expect(once).toBe('line 1\nbell\\u0007 tab\\u0009 cr\\u000d del\\u007f');
    expect(terminalSafe(once)).toBe(once);
  });
});
