/**
 * @secrets-manager-on-moto turning rotation on is RotateSecret with a rotation function ARN, which LocalStack refuses unless it can run that Lambda; moto_server.py gives moto AWS's RotateSecret semantics
 * @sts-on-moto the key's account (GetAccessKeyInfo) must be answered by the STS that knows moto's IAM users; LocalStack's STS answers for its own account
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { runCli } from '../../../functions/cli/program';
import { AwsSecretsManagerAdministration } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-administration';
import { ThrottledError } from '../../../functions/shared/errors';
import type { MigrationReport } from '../../../functions/shared/migration/fence-config-migration';
import {
  AwsIamKeyDirectory,
  type IamKeyDirectory,
} from '../../../functions/shared/rotation/iam-key-directory';
import {
  IAM_ROTATION_TAG_KEY,
  IAM_ROTATION_TAG_VALUE,
  IamRotationEnrollment,
} from '../../../functions/shared/rotation/iam-rotation-enrollment';
import { DEFAULT_ROTATION_DAYS } from '../../../functions/shared/rotation/rotation-interval';
import { secretsManager } from '../support/aws';
import { iamRotationBed, PARTNER_ACCOUNT, ROTATION_FUNCTION_ARN } from '../support/iam-rotation-bed';
import { secretsUnder } from '../support/migration-bed';

type Bed = Awaited<ReturnType<typeof iamRotationBed>>;

const sm = secretsManager();

async function cli(bed: Bed, args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await runCli(
    args,
    { out: (text) => (out += text), err: (text) => (err += text), interactive: false, stdin: async () => '' },
    { ...process.env, ...bed.env, ...env },
  );
  return { code, out, err };
}

async function migrate(bed: Bed, ...flags: string[]) {
  const result = await cli(bed, ['--json', 'migrate', '--config', bed.configPath, '--no-validate', ...flags]);
  const report = result.out === '' ? undefined : (JSON.parse(result.out) as MigrationReport);
  return { ...result, report };
}

function rotationOf(report: MigrationReport | undefined, credential: string) {
  return report?.secrets.find((secret) => secret.credential === credential)?.rotation;
}

function expectNoKeys(bed: Bed, texts: string[]): void {
  for (const key of bed.keyValues) for (const text of texts) expect(text).not.toContain(key);
}

async function secretState(name: string) {
  const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
  const value = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
  return {
    rotationEnabled: described.RotationEnabled === true,
    rotationLambdaArn: described.RotationLambdaARN ?? null,
    days: described.RotationRules?.AutomaticallyAfterDays ?? null,
    tag: described.Tags?.find((tag) => tag.Key === IAM_ROTATION_TAG_KEY)?.Value ?? null,
    payload: JSON.parse(String(value.SecretString)) as Record<string, string>,
  };
}

describe('fence-buckets migrate --enable-rotation', () => {
  it('dry run: shows per credential whether it would be rotated or why not, writes nothing, prints no key', async () => {
    // Prepare
    const bed = await iamRotationBed();

    // Act
    const table = await cli(bed, ['migrate', '--config', bed.configPath, '--dry-run', '--enable-rotation']);
    const json = await migrate(bed, '--dry-run', '--enable-rotation');

    // Assess: one row per credential, its verdict and reason.
    expect(rotationOf(json.report, 'CRED-ROTATED')).toEqual({
      outcome: 'would_enable',
      iam_user_name: bed.users['CRED-ROTATED'],
    });
    expect(rotationOf(json.report, 'CRED-OUTSIDE')).toMatchObject({
      outcome: 'cannot_rotate',
      reason: 'outside_path',
      iam_user_name: bed.users['CRED-OUTSIDE'],
    });
    expect(rotationOf(json.report, 'CRED-TWO-KEYS')).toMatchObject({
      outcome: 'cannot_rotate',
      reason: 'keys_in_use',
      iam_user_name: bed.users['CRED-TWO-KEYS'],
    });
    expect(rotationOf(json.report, 'CRED-PARTNER')).toMatchObject({
      outcome: 'cannot_rotate',
      reason: 'other_account',
    });
    expect(rotationOf(json.report, 'CRED-PARTNER')?.message).toContain(PARTNER_ACCOUNT);
    expect(json.report?.counts).toMatchObject({ rotation_enabled: 1, rotation_existing: 0, problems: 3 });
    expect(json.code).toBe(1);
    expect(table.code).toBe(1);
    expect(table.out).toContain('Rotation');
    expect(table.out).toMatch(
      new RegExp(`CRED-ROTATED\\s*│\\s*${bed.users['CRED-ROTATED']}\\s*│\\s*would_enable`),
    );
    expect(table.out).toMatch(/CRED-OUTSIDE\s*│[^\n]*cannot_rotate\s*│\s*outside_path/);
    expect(table.out).toMatch(/CRED-TWO-KEYS\s*│[^\n]*cannot_rotate\s*│\s*keys_in_use/);
    expect(table.out).toMatch(/CRED-PARTNER\s*│[^\n]*cannot_rotate\s*│\s*other_account/);
    expect(table.out).toMatch(/rotation to enable\s*│\s*1/);
    expect(await secretsUnder(bed.prefix)).toEqual({});
    expectNoKeys(bed, [table.out, table.err, json.out, json.err]);
  }, 120_000);

  it('turns rotation on for the user under the path only: payload, tag and schedule; a rerun writes nothing', async () => {
    // Prepare
    const bed = await iamRotationBed();

    // Act
    const first = await migrate(bed, '--enable-rotation');
    const secrets = await secretsUnder(bed.prefix);
    const rotated = await secretState(`${bed.prefix}fence-config/CRED-ROTATED`);
    const refused = await Promise.all(
      ['CRED-OUTSIDE', 'CRED-TWO-KEYS', 'CRED-PARTNER'].map((name) =>
        secretState(`${bed.prefix}fence-config/${name}`),
      ),
    );
    const second = await migrate(bed, '--enable-rotation');
    const secretsAfter = await secretsUnder(bed.prefix);
    const rotatedAfter = await secretState(`${bed.prefix}fence-config/CRED-ROTATED`);

    // Assess: the rotated credential's secret names its user, carries the tag and rotates every
    // DEFAULT_ROTATION_DAYS days through the given function; its keys are the file's.
    expect(first.report?.counts).toMatchObject({ rotation_enabled: 1, records_registered: 4, problems: 3 });
    expect(rotationOf(first.report, 'CRED-ROTATED')).toEqual({
      outcome: 'enabled',
      iam_user_name: bed.users['CRED-ROTATED'],
    });
    expect(rotated).toEqual({
      rotationEnabled: true,
      rotationLambdaArn: ROTATION_FUNCTION_ARN,
      days: DEFAULT_ROTATION_DAYS,
      tag: IAM_ROTATION_TAG_VALUE,
      payload: { ...bed.keys['CRED-ROTATED'], iam_user_name: bed.users['CRED-ROTATED'] },
    });
    // The others moved, untouched by rotation.
    for (const [index, name] of ['CRED-OUTSIDE', 'CRED-TWO-KEYS', 'CRED-PARTNER'].entries()) {
      expect(refused[index]).toEqual({
        rotationEnabled: false,
        rotationLambdaArn: null,
        days: null,
        tag: null,
        payload: bed.keys[name as keyof Bed['keys']],
      });
    }
    // The rerun (the file now names the secrets) finds it done and writes no version.
    expect(rotationOf(second.report, 'CRED-ROTATED')).toEqual({
      outcome: 'already_enabled',
      iam_user_name: bed.users['CRED-ROTATED'],
    });
    expect(second.report?.counts).toMatchObject({ rotation_enabled: 0, rotation_existing: 1, problems: 3 });
    expect(rotationOf(second.report, 'CRED-TWO-KEYS')?.reason).toBe('keys_in_use');
    expect(secretsAfter).toEqual(secrets);
    expect(rotatedAfter).toEqual(rotated);
    expect(first.err).toContain('"outcome":"rotation_enabled"');
    expectNoKeys(bed, [first.out, first.err, second.out, second.err]);
  }, 120_000);

  it('schedules the interval given with --rotation-days', async () => {
    // Prepare
    const bed = await iamRotationBed();

    // Act
    const run = await migrate(bed, '--enable-rotation', '--rotation-days', '45');

    // Assess
    expect(rotationOf(run.report, 'CRED-ROTATED')?.outcome).toBe('enabled');
    expect((await secretState(`${bed.prefix}fence-config/CRED-ROTATED`)).days).toBe(45);
  }, 120_000);

  it.each([
    [{ FENCE_IAM_ROTATION_FUNCTION_ARN: '' }, [], 'invalid_request: name the IAM key rotation function'],
    [
      {},
      ['--rotation-function-arn', 'FenceBucketBroker-IamKeyRotation'],
      'invalid_request: the rotation function must be a Lambda function ARN',
    ],
    [{ FENCE_ROTATED_IAM_USER_PATH: '' }, [], 'invalid_request: name the IAM path of rotated users'],
    [{}, ['--iam-user-path', 'gen3-buckets'], 'invalid_request: the IAM user path must begin and end with /'],
  ])(
    'refuses bad rotation settings before anything is read or written (%j %j)',
    async (env, flags, message) => {
      // Prepare
      const bed = await iamRotationBed();

      // Act
      const run = await cli(bed, ['migrate', '--config', bed.configPath, '--enable-rotation', ...flags], env);

      // Assess
      expect(run.code).toBe(1);
      expect(run.err).toContain(message);
      expect(await secretsUnder(bed.prefix)).toEqual({});
    },
    60_000,
  );

  it('refuses rotation options without --enable-rotation, and --rotation-days that is not a whole number', async () => {
    // Prepare
    const bed = await iamRotationBed();

    // Act
    const without = await cli(bed, ['migrate', '--config', bed.configPath, '--iam-user-path', '/x/']);
    const days = await cli(bed, [
      'migrate',
      '--config',
      bed.configPath,
      '--enable-rotation',
      '--rotation-days',
      '1.5',
    ]);

    // Assess
    expect(without.code).toBe(2);
    expect(without.err).toContain('--rotation-function-arn and --iam-user-path go with --enable-rotation');
    expect(days.code).toBe(2);
    expect(days.err).toContain('--rotation-days must be a positive integer');
  }, 60_000);
});

describe('fence-buckets register --rotate', () => {
  /** `register --rotate` of a static AWS bucket with the credential's keys, from a file. */
  async function register(bed: Bed, credential: keyof Bed['keys'], bucket: string, ...flags: string[]) {
    const secretFile = join(mkdtempSync(join(tmpdir(), 'fbb-rotate-')), 'keys.json');
    writeFileSync(secretFile, JSON.stringify(bed.keys[credential]), { mode: 0o600 });
    return cli(bed, [
      '--json',
      'register',
      '--bucket',
      bucket,
      '--provider',
      'aws',
      '--auth-mode',
      'static',
      '--region',
      'us-east-1',
      '--allowed-ops',
      'download',
      '--create-secret',
      '--secret-file',
      secretFile,
      '--rotate',
      ...flags,
    ]);
  }

  it('registers the bucket and turns rotation on for its new secret', async () => {
    // Prepare
    const bed = await iamRotationBed();

    // Act
    const run = await register(bed, 'CRED-ROTATED', 'gen3-iam-rotated');
    const record = JSON.parse(run.out) as { secret_ref: string };
    const state = await secretState(record.secret_ref);

    // Assess
    expect(run.code).toBe(0);
    expect(state).toEqual({
      rotationEnabled: true,
      rotationLambdaArn: ROTATION_FUNCTION_ARN,
      days: DEFAULT_ROTATION_DAYS,
      tag: IAM_ROTATION_TAG_VALUE,
      payload: { ...bed.keys['CRED-ROTATED'], iam_user_name: bed.users['CRED-ROTATED'] },
    });
    expect(run.err).toContain(
      JSON.stringify({
        rotation: {
          outcome: 'enabled',
          iam_user_name: bed.users['CRED-ROTATED'],
          rotation_days: DEFAULT_ROTATION_DAYS,
        },
      }),
    );
    expectNoKeys(bed, [run.out, run.err]);
  }, 120_000);

  it.each([
    ['CRED-OUTSIDE', 'outside_path'],
    ['CRED-TWO-KEYS', 'keys_in_use'],
    ['CRED-PARTNER', 'other_account'],
  ] as const)(
    'refuses %s (%s) with invalid_request before writing a secret or a record',
    async (credential, reason) => {
      // Prepare
      const bed = await iamRotationBed();

      // Act
      const run = await register(bed, credential, 'gen3-iam-outside');

      // Assess
      expect(run.code).toBe(1);
      expect(run.err).toContain(`error: invalid_request: cannot rotate these keys (${reason})`);
      expect(await secretsUnder(bed.prefix)).toEqual({});
      expect((await bed.registry.list({ limit: 10 })).records).toEqual([]);
      expectNoKeys(bed, [run.out, run.err]);
    },
    60_000,
  );

  it('refuses --rotate for a bucket that is not static AWS, and through --api', async () => {
    // Prepare
    const bed = await iamRotationBed();

    // Act
    const minio = await cli(bed, [
      'register',
      '--bucket',
      'b',
      '--provider',
      's3_compatible',
      '--auth-mode',
      'static',
      '--endpoint',
      'https://minio.example.org',
      '--secret-ref',
      `${bed.prefix}x`,
      '--rotate',
    ]);
    const api = await cli(bed, [
      '--api',
      'https://abc.execute-api.us-east-1.amazonaws.com/prod',
      'register',
      '--rotate',
    ]);

    // Assess
    expect(minio.code).toBe(1);
    expect(minio.err).toContain('invalid_request: rotate is for static AWS buckets');
    expect(api.code).toBe(2);
    expect(api.err).toContain('register --rotate runs in process');
  }, 60_000);
});

describe('Class: IamRotationEnrollment', () => {
  /** The real directory, except that one call fails as IAM would for `name` (moto checks no rights here). */
  function failing(method: keyof IamKeyDirectory, name: string): IamKeyDirectory {
    const real = new AwsIamKeyDirectory();
    const directory: IamKeyDirectory = {
      callerAccount: () => real.callerAccount(),
      keyAccount: (id) => real.keyAccount(id),
      keyOwner: (id) => real.keyOwner(id),
      userPath: (user) => real.userPath(user),
      activeKeyCount: (user) => real.activeKeyCount(user),
    };
    directory[method] = async () => {
      throw Object.assign(new Error(`${name} (test)`), { name });
    };
    return directory;
  }

  const settings = (bed: Bed) => ({
    functionArn: ROTATION_FUNCTION_ARN,
    userPath: bed.userPath,
    rotationDays: DEFAULT_ROTATION_DAYS,
  });

  it.each([
    ['keyOwner', 'iam:GetAccessKeyLastUsed'],
    ['userPath', 'iam:GetUser'],
    ['activeKeyCount', 'iam:ListAccessKeys'],
    ['keyAccount', 'sts:GetAccessKeyInfo'],
  ] as const)(
    'says no_permission when %s is denied (AccessDenied on %s)',
    async (method, action) => {
      // Prepare
      const bed = await iamRotationBed();
      const enrollment = new IamRotationEnrollment({
        directory: failing(method, 'AccessDenied'),
        secrets: new AwsSecretsManagerAdministration(),
        settings: settings(bed),
      });

      // Act
      const verdict = await enrollment.assess(bed.keys['CRED-ROTATED'].access_key_id);

      // Assess
      expect(verdict).toMatchObject({ rotatable: false, reason: 'no_permission' });
      expect(verdict.rotatable ? '' : verdict.message).toContain(action);
    },
    60_000,
  );

  it('ends the run with throttled when IAM throttles (a rerun resumes)', async () => {
    // Prepare
    const bed = await iamRotationBed();
    const enrollment = new IamRotationEnrollment({
      directory: failing('keyOwner', 'Throttling'),
      secrets: new AwsSecretsManagerAdministration(),
      settings: settings(bed),
    });

    // Act
    const verdict = enrollment.assess(bed.keys['CRED-ROTATED'].access_key_id);

    // Assess
    await expect(verdict).rejects.toBeInstanceOf(ThrottledError);
  }, 60_000);

  it('refuses a secret another function already rotates, writing nothing', async () => {
    // Prepare: the run enables rotation; then the settings name another function.
    const bed = await iamRotationBed();
    await migrate(bed, '--enable-rotation');
    const name = `${bed.prefix}fence-config/CRED-ROTATED`;
    const before = await secretState(name);
    const admin = new AwsSecretsManagerAdministration();
    const enrollment = new IamRotationEnrollment({
      directory: new AwsIamKeyDirectory(),
      secrets: admin,
      settings: { ...settings(bed), functionArn: `${ROTATION_FUNCTION_ARN}-other` },
    });
    const description = await admin.describe(name);

    // Act
    const outcome =
      description === undefined ? undefined : await enrollment.enable(description, before.payload);

    // Assess
    expect(outcome).toMatchObject({ outcome: 'refused', reason: 'rotated_elsewhere' });
    expect(await secretState(name)).toEqual(before);
  }, 120_000);
});
