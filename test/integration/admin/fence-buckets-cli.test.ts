import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../../../functions/cli/program';
import { minioBucketWithUser } from '../support/admin-bed';
import { createRegistryTable, dynamoDb } from '../support/aws';

const run = promisify(execFile);

/** Runs the CLI in this process with captured output; stdin holds `input`. */
async function cli(args: string[], env: NodeJS.ProcessEnv, input = '') {
  let out = '';
  let err = '';
  const code = await runCli(
    args,
    {
      out: (text) => (out += text),
      err: (text) => (err += text),
      interactive: false,
      stdin: async () => input,
    },
    { ...process.env, ...env },
  );
  return { code, out, err };
}

describe('CLI: fence-buckets (in process on the AWS emulators + MinIO)', () => {
  let table: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    table = await createRegistryTable(dynamoDb());
    env = { REGISTRY_TABLE_NAME: table };
  });

  it('registers with keys on stdin, then lists, gets, suspends, resumes, validates; the keys never appear in any output', async () => {
    // Prepare
    const store = await minioBucketWithUser();
    const keys = JSON.stringify({ access_key_id: store.accessKey, secret_access_key: store.secretKey });
    const registration = ['--bucket', store.bucket, '--provider', 'minio', '--auth-mode', 'static'];
    const outputs: string[] = [];

    // Act
    const registered = await cli(
      [
        '--json',
        'register',
        ...registration,
        '--endpoint',
        store.endpoint,
        '--allowed-ops',
        'download,upload',
        '--create-secret',
        '--secret-stdin',
      ],
      env,
      keys,
    );
    const listed = await cli(['--json', 'list'], env);
    const table = await cli(['list'], env);
    const got = await cli(['--json', 'get', store.bucket], env);
    const suspended = await cli(['--json', 'suspend', store.bucket], env);
    const resumed = await cli(['--json', 'resume', store.bucket], env);
    const validated = await cli(['--json', 'validate', store.bucket], env);
    outputs.push(
      ...[registered, listed, table, got, suspended, resumed, validated].flatMap((result) => [
        result.out,
        result.err,
      ]),
    );

    // Assess
    expect(registered.code).toBe(0);
    const record = JSON.parse(registered.out);
    expect(record).toMatchObject({ bucket_name: store.bucket, revision: 1, secrets_backend: 'aws_sm' });
    expect(record.secret_ref).toContain(`secret:gen3/fence/minio/${store.bucket}`);
    expect(
      JSON.parse(listed.out).records.map((entry: { bucket_name: string }) => entry.bucket_name),
    ).toContain(store.bucket);
    expect(table.out).toContain(store.bucket);
    expect(table.out).toMatch(/bucket_name.*provider.*auth_mode.*status/);
    expect(JSON.parse(got.out).id).toBe(record.id);
    expect(JSON.parse(suspended.out)).toMatchObject({ status: 'suspended', revision: 2 });
    expect(JSON.parse(resumed.out)).toMatchObject({ status: 'active', revision: 3 });
    expect(validated.code).toBe(0);
    expect(JSON.parse(validated.out)).toMatchObject({ ok: true, bucket: store.bucket });
    // The audit line of each write went to stderr; no output carries the secret key.
    expect(registered.err).toContain('"action":"register"');
    for (const text of outputs) expect(text).not.toContain(store.secretKey);
  }, 60_000);

  it('exits 1 on a refused operation and 2 on a usage mistake, with one clear line on stderr', async () => {
    // Prepare
    const store = await minioBucketWithUser();
    const secretFile = join(mkdtempSync(join(tmpdir(), 'fbb-cli-')), 'keys.json');
    writeFileSync(
      secretFile,
      JSON.stringify({ access_key_id: store.accessKey, secret_access_key: 'wrong-key' }),
      { mode: 0o600 },
    );

    // Act
    const rejected = await cli(
      [
        'register',
        '--bucket',
        store.bucket,
        '--provider',
        'minio',
        '--auth-mode',
        'static',
        '--endpoint',
        store.endpoint,
        '--allowed-ops',
        'download',
        '--create-secret',
        '--secret-file',
        secretFile,
      ],
      env,
    );
    const unknown = await cli(['get', 'no-such-bucket'], env);
    const noKeys = await cli(['register', '--bucket', store.bucket, '--create-secret'], env);
    const badFlag = await cli(['list', '--no-such-flag'], env);
    const noTable = await cli(['list'], { REGISTRY_TABLE_NAME: '' });
    const help = await cli(['register', '--help'], env);

    // Assess
    expect(rejected).toMatchObject({ code: 1 });
    expect(rejected.err).toMatch(/^error: credentials_rejected: /m);
    expect(rejected.err).not.toContain('wrong-key');
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.err).toMatch(/unknown_bucket/);
    expect(noKeys.code).toBe(2);
    expect(noKeys.err).toMatch(/--secret-file <file>, --secret-stdin, or run it in a terminal/);
    expect(badFlag.code).toBe(2);
    expect(noTable.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Example');
    expect(help.out).toContain('never taken from the command line');
  }, 60_000);

  it('validate exits 1 when a check fails', async () => {
    // Prepare: a registered bucket whose MinIO keys stop working.
    const store = await minioBucketWithUser();
    const secretFile = join(mkdtempSync(join(tmpdir(), 'fbb-cli-')), 'keys.json');
    writeFileSync(
      secretFile,
      JSON.stringify({ access_key_id: store.accessKey, secret_access_key: store.secretKey }),
    );
    await cli(
      [
        'register',
        '--bucket',
        store.bucket,
        '--provider',
        'minio',
        '--auth-mode',
        'static',
        '--endpoint',
        store.endpoint,
        '--allowed-ops',
        'download',
        '--create-secret',
        '--secret-file',
        secretFile,
      ],
      env,
    );
    const { MinioAdminClient } = await import('../../../functions/shared/minio/minio-admin-client');
    const { readEndpoints } = await import('../services/endpoints');
    const { minio } = readEndpoints();
    const root = new MinioAdminClient({
      endpoint: minio.endpoint,
      accessKey: minio.rootUser,
      secretKey: minio.rootPassword,
    });
    await root.addUser(store.accessKey, 'a-different-secret-key');

    // Act
    const validated = await cli(['validate', store.bucket], env);

    // Assess
    expect(validated.code).toBe(1);
    expect(validated.out).toMatch(/bucket_access.*NO.*credentials_rejected/);
  }, 60_000);

  it('runs as `npx fence-buckets` from the clone (the package bin)', async () => {
    const { stdout } = await run('npx', ['fence-buckets', '--help'], {
      cwd: join(__dirname, '../../..'),
      env: process.env,
    });
    expect(stdout).toContain('Usage: fence-buckets');
    await expect(
      run('npx', ['fence-buckets', 'list'], {
        cwd: join(__dirname, '../../..'),
        env: { ...process.env, REGISTRY_TABLE_NAME: '' },
      }),
    ).rejects.toMatchObject({
      code: 2,
    });
  }, 60_000);
});
