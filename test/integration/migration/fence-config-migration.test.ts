import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { parse } from 'yaml';
import { runCli } from '../../../functions/cli/program';
import { type AdminAuditLine, BucketAdmin } from '../../../functions/shared/admin/bucket-admin';
import { AwsSecretsManagerAdministration } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-administration';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { SecretResolvers } from '../../../functions/shared/backends/backend-registry';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import {
  type ConfigFileSystem,
  nodeConfigFileSystem,
} from '../../../functions/shared/migration/config-file-system';
import {
  FenceConfigMigration,
  type MigrationAuditLine,
  type MigrationReport,
} from '../../../functions/shared/migration/fence-config-migration';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import type { BucketRecord } from '../../../functions/shared/registry/bucket-record';
import type { BucketRegistry } from '../../../functions/shared/registry/bucket-registry';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import { CachingSecretResolver } from '../../../functions/shared/secrets/caching-secret-resolver';
import type {
  SecretAdministration,
  SecretDescription,
} from '../../../functions/shared/secrets/secret-administration';
import { SigV4Presigner } from '../../../functions/shared/signing/sigv4-presigner';
import { secretsManager } from '../support/aws';
import { migrationBed, secretsUnder } from '../support/migration-bed';

type Bed = Awaited<ReturnType<typeof migrationBed>>;

const sm = secretsManager();
const SHARED_USE = 'PUSH_AUDIT_LOGS_CONFIG.aws_sqs_config.aws_cred';
const CREDENTIALS = ['CRED-DATA', 'CRED-ROLE', 'CRED-MINIO', 'CRED-PARTNER'];
const MIGRATED_BUCKETS = [
  'gen3-fixture-data-main',
  'gen3-fixture-data-archive',
  'gen3-fixture-controlled',
  'gen3-fixture-partner',
];
/** A credential's key lines in the file, the only lines a migration may change. */
const KEY_LINE = /^\s*(aws_access_key_id|aws_secret_access_key):|'CRED-PARTNER': \{/;
const ADDED_LINE =
  /^\s*(# keys moved to .* by fence-buckets migrate on \d{4}-\d{2}-\d{2}|# rotated 2024-02|secret_ref: )|'CRED-PARTNER': \{secret_ref: /;

/** Runs the CLI in this process over the bed's table and prefix; every output is kept for the canary checks. */
async function cli(bed: Bed, args: string[], outputs: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await runCli(
    args,
    { out: (text) => (out += text), err: (text) => (err += text), interactive: false, stdin: async () => '' },
    { ...process.env, ...bed.env, ...env },
  );
  outputs.push(out, err);
  return { code, out, err };
}

async function migrate(bed: Bed, outputs: string[], ...flags: string[]) {
  const result = await cli(bed, ['--json', 'migrate', '--config', bed.configPath, ...flags], outputs);
  const report = result.out === '' ? undefined : (JSON.parse(result.out) as MigrationReport);
  return { ...result, report };
}

async function records(registry: BucketRegistry) {
  return (await registry.list({ limit: 100 })).records;
}

/** Everything a rerun must leave exactly as it was. */
async function state(bed: Bed) {
  const stat = statSync(bed.configPath);
  return {
    secrets: await secretsUnder(bed.prefix),
    records: (await records(bed.registry))
      .map((record) => `${record.bucket_name}@${record.revision}:${record.updated_at}`)
      .sort(),
    file: readFileSync(bed.configPath, 'utf8'),
    mtimeMs: stat.mtimeMs,
    files: readdirSync(bed.directory).sort(),
  };
}

async function secretValue(ref: string): Promise<unknown> {
  const answer = await sm.send(new GetSecretValueCommand({ SecretId: ref, VersionStage: 'AWSCURRENT' }));
  return JSON.parse(String(answer.SecretString));
}

/** Every file of the bed's directory, read: none may hold a key. */
function directoryText(bed: Bed): string {
  return readdirSync(bed.directory)
    .map((name) => readFileSync(join(bed.directory, name), 'utf8'))
    .join('\n');
}

function expectNoKeys(bed: Bed, texts: string[]): void {
  for (const key of bed.keyValues) {
    for (const text of texts) expect(text).not.toContain(key);
  }
}

/** The lines of `text` outside the credential key lines (or the lines a migration adds). */
function otherLines(text: string, pattern: RegExp): string[] {
  return text.split('\n').filter((line) => !pattern.test(line));
}

function presignServiceOver(registry: BucketRegistry): PresignService {
  const secrets = new SecretResolvers(
    new Map([['aws_sm', new CachingSecretResolver(new AwsSecretsManagerResolver())]]),
  );
  return new PresignService({
    buckets: new CachedBucketLookup(registry, { ttlMs: 1 }),
    credentials: new BucketCredentialsService(secrets, new AssumedRoleCredentials()),
    presigner: new SigV4Presigner(),
    multipart: new MultipartStoreClient(),
  });
}

/**
 * The migration core over the bed's registry and prefix and moto Secrets Manager, as the CLI
 * wires it, with hooks around secret creation and registration and a file system of the test's.
 */
function migrationWith(
  bed: Bed,
  audit: (AdminAuditLine | MigrationAuditLine)[],
  hooks: {
    create?: (create: () => Promise<SecretDescription>) => Promise<SecretDescription>;
    register?: (register: () => Promise<BucketRecord>) => Promise<BucketRecord>;
    files?: ConfigFileSystem;
  },
): FenceConfigMigration {
  const secretsAdmin = new AwsSecretsManagerAdministration();
  const backend = {
    read: new AwsSecretsManagerResolver(),
    admin: {
      backend: secretsAdmin.backend,
      describe: (ref: string) => secretsAdmin.describe(ref),
      remove: (ref: string, days: number) => secretsAdmin.remove(ref, days),
      rotate: (ref: string) => secretsAdmin.rotate(ref),
      create: (...args: Parameters<SecretAdministration['create']>) =>
        (hooks.create ?? ((create) => create()))(() => secretsAdmin.create(...args)),
    },
  };
  const admin = new BucketAdmin({
    registry: bed.registry,
    backends: { aws_sm: backend },
    roles: new AssumedRoleCredentials(),
    secretsPrefix: bed.prefix,
    audit: (line) => audit.push(line),
  });
  return new FenceConfigMigration({
    admin: {
      get: (name) => admin.get(name),
      list: (query) => admin.list(query),
      register: (...args: Parameters<BucketAdmin['register']>) =>
        (hooks.register ?? ((register) => register()))(() => admin.register(...args)),
    },
    secrets: backend,
    secretsPrefix: bed.prefix,
    caller: 'arn:aws:iam::123456789012:role/gen3-admin',
    audit: (line) => audit.push(line),
    ...(hooks.files === undefined ? {} : { files: hooks.files }),
  });
}

describe('fence-buckets migrate (emulated Secrets Manager, DynamoDB, STS and S3; real MinIO)', () => {
  it('moves the fixture: right secrets, validated records, presign on MinIO, a file without keys that keeps every other setting; a rerun writes nothing', async () => {
    // Prepare
    const bed = await migrationBed();
    const outputs: string[] = [];

    // Act
    const first = await migrate(bed, outputs, '--remove-shared-credentials');
    const migrated = await state(bed);
    const rerun = await migrate(bed, outputs, '--remove-shared-credentials');
    const table = await cli(
      bed,
      ['migrate', '--config', bed.configPath, '--remove-shared-credentials'],
      outputs,
    );

    // Assess: one secret per credential, holding the plan's shape, tagged.
    expect(first.code).toBe(0);
    expect(first.report?.counts).toEqual({
      secrets_created: 4,
      secrets_reused: 0,
      secrets_updated: 0,
      records_registered: 5,
      records_existing: 0,
      buckets_skipped: 1,
      problems: 0,
    });
    const secrets = await secretsUnder(bed.prefix);
    expect(Object.keys(secrets).sort()).toEqual(
      CREDENTIALS.map((name) => `${bed.prefix}fence-config/${name}`).sort(),
    );
    for (const name of CREDENTIALS) {
      const secret = secrets[`${bed.prefix}fence-config/${name}`];
      expect(secret?.versions).toBe(1);
      expect(await secretValue(String(secret?.arn))).toEqual(bed.keys[name]);
    }
    const described = await sm.send(
      new DescribeSecretCommand({ SecretId: `${bed.prefix}fence-config/CRED-DATA` }),
    );
    expect(Object.fromEntries((described.Tags ?? []).map((tag) => [tag.Key, tag.Value]))).toEqual({
      'fence-bucket-broker:fence-credential': 'CRED-DATA',
      'fence-bucket-broker:created-by': expect.stringMatching(/^arn:aws:(sts|iam)::\d{12}:/),
    });

    // Records: static AWS, role, S3-compatible (MinIO) with endpoint; none for the public bucket.
    const saved = Object.fromEntries(
      (await records(bed.registry)).map((record) => [record.bucket_name, record]),
    );
    expect(Object.keys(saved).sort()).toEqual([...MIGRATED_BUCKETS, bed.store.bucket].sort());
    const arn = (name: string) => secrets[`${bed.prefix}fence-config/${name}`]?.arn;
    expect(saved['gen3-fixture-data-main']).toMatchObject({
      provider: 'aws',
      auth_mode: 'static',
      secrets_backend: 'aws_sm',
      secret_ref: arn('CRED-DATA'),
      region: 'us-east-1',
      allowed_ops: ['download', 'upload', 'multipart'],
      max_expires_in: 3600,
    });
    expect(saved['gen3-fixture-data-archive']).toMatchObject({
      secret_ref: arn('CRED-DATA'),
      allowed_ops: ['download'],
    });
    expect(saved['gen3-fixture-controlled']).toMatchObject({
      provider: 'aws',
      auth_mode: 'role',
      role_arn: 'arn:aws:iam::123456789012:role/gen3-fixture-controlled-reader',
      secret_ref: null,
      secrets_backend: null,
    });
    expect(saved['gen3-fixture-partner']).toMatchObject({
      secret_ref: arn('CRED-PARTNER'),
      region: 'us-west-2',
    });
    expect(saved[bed.store.bucket]).toMatchObject({
      provider: 's3_compatible',
      auth_mode: 'static',
      secret_ref: arn('CRED-MINIO'),
      endpoint: `${bed.store.endpoint}/`,
      allowed_ops: ['download', 'upload', 'multipart'],
    });

    // Presign works end to end on the MinIO bucket, with the keys now read from Secrets Manager.
    const service = presignServiceOver(bed.registry);
    const put = await service.presign(
      bed.store.bucket,
      { key: 'migrated.txt', method: 'PUT' },
      { requestId: 'r' },
    );
    expect((await fetch(put.url, { method: 'PUT', body: 'moved out of fence-config' })).status).toBe(200);
    const get = await service.presign(
      bed.store.bucket,
      { key: 'migrated.txt', method: 'GET' },
      { requestId: 'r' },
    );
    expect(await (await fetch(get.url)).text()).toBe('moved out of fence-config');

    // The file: no key anywhere, still parses, every other setting and line unchanged, same mode.
    const rewritten = migrated.file;
    expectNoKeys(bed, [rewritten]);
    const before = parse(bed.source);
    const after = parse(rewritten);
    expect({ ...after, AWS_CREDENTIALS: null }).toEqual({ ...before, AWS_CREDENTIALS: null });
    expect(after.AWS_CREDENTIALS).toEqual(
      Object.fromEntries(CREDENTIALS.map((name) => [name, { secret_ref: arn(name) }])),
    );
    expect(otherLines(rewritten, ADDED_LINE)).toEqual(otherLines(bed.source, KEY_LINE));
    expect(statSync(bed.configPath).mode & 0o777).toBe(0o640);
    expect(migrated.files).toEqual(['fence-config.yaml']);

    // A rerun finds everything done and writes nothing.
    expect(rerun.code).toBe(0);
    expect(rerun.report?.counts).toMatchObject({
      secrets_created: 0,
      secrets_reused: 4,
      records_registered: 0,
      records_existing: 5,
    });
    expect(rerun.report?.file.outcome).toBe('unchanged');
    expect(await state(bed)).toEqual(migrated);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/secrets reused\s*│\s*4/);
    expect(table.out).toMatch(/records existing\s*│\s*5/);
    expect(table.out).toContain('migration complete');

    // Canary: no key in any output or audit line.
    expect(first.err).toContain('"action":"migrate_secret"');
    expect(first.err).toContain('"action":"register"');
    expect(first.err).toContain('"action":"migrate_config"');
    expectNoKeys(bed, outputs);
  }, 180_000);

  it(`keeps keys that ${SHARED_USE} still uses (exit 1, naming it) until --remove-shared-credentials`, async () => {
    // Prepare
    const bed = await migrationBed();
    const outputs: string[] = [];

    // Act
    const kept = await migrate(bed, outputs);
    const keptFile = readFileSync(bed.configPath, 'utf8');
    const table = await cli(bed, ['migrate', '--config', bed.configPath, '--dry-run'], outputs);
    const removed = await migrate(bed, outputs, '--remove-shared-credentials');

    // Assess: the shared credential is in its secret and its buckets are registered, but its keys stay.
    expect(kept.code).toBe(1);
    expect(kept.report?.file.kept).toEqual([
      expect.objectContaining({ credential: 'CRED-DATA', uses: [SHARED_USE] }),
    ]);
    expect(kept.report?.file.kept[0]?.message).toMatch(/--remove-shared-credentials/);
    expect(kept.report?.file.credentials).toEqual(['CRED-ROLE', 'CRED-MINIO', 'CRED-PARTNER']);
    expect(keptFile).toContain(bed.keys['CRED-DATA']?.secret_access_key);
    expect(keptFile).not.toContain(bed.keys['CRED-MINIO']?.secret_access_key);
    expect(kept.report?.records.filter((record) => record.credential === 'CRED-DATA')).toEqual([
      expect.objectContaining({ outcome: 'registered' }),
      expect.objectContaining({ outcome: 'registered' }),
    ]);
    expect(table.code).toBe(1);
    expect(table.out).toContain(`kept CRED-DATA: `);
    expect(table.out).toContain(SHARED_USE);

    // With the flag, the rest moves; nothing is created twice.
    expect(removed.code).toBe(0);
    expect(removed.report?.counts).toMatchObject({
      secrets_created: 0,
      secrets_reused: 4,
      records_existing: 5,
    });
    expect(removed.report?.file).toMatchObject({
      outcome: 'rewritten',
      credentials: ['CRED-DATA'],
      kept: [],
    });
    expectNoKeys(bed, [readFileSync(bed.configPath, 'utf8')]);
    expect(Object.keys(await secretsUnder(bed.prefix))).toHaveLength(4);
    expect(parse(readFileSync(bed.configPath, 'utf8')).PUSH_AUDIT_LOGS_CONFIG.aws_sqs_config.aws_cred).toBe(
      'CRED-DATA',
    );
    expectNoKeys(bed, outputs);
  }, 180_000);

  it('--dry-run prints the plan with a redacted diff and writes nothing', async () => {
    // Prepare
    const bed = await migrationBed();
    const outputs: string[] = [];
    const before = await state(bed);

    // Act
    const planned = await migrate(bed, outputs, '--dry-run', '--remove-shared-credentials');
    const table = await cli(bed, ['migrate', '--config', bed.configPath, '--dry-run'], outputs);

    // Assess
    expect(planned.code).toBe(0);
    expect(planned.report?.secrets.map((secret) => [secret.credential, secret.outcome])).toEqual(
      CREDENTIALS.map((name) => [name, 'would_create']),
    );
    expect(planned.report?.records.map((record) => record.outcome)).toEqual(Array(5).fill('would_register'));
    expect(planned.report?.skipped).toEqual([
      { bucket: 'gen3-fixture-public', reason: expect.stringMatching(/public bucket/) },
    ]);
    expect(planned.report?.counts).toMatchObject({ secrets_created: 4, records_registered: 5, problems: 0 });
    expect(table.out).toMatch(/secrets to create\s*│\s*4/);
    expect(planned.report?.file.outcome).toBe('would_rewrite');
    expect(planned.report?.file.diff).toContain('-    aws_secret_access_key: <redacted>');
    expect(planned.report?.file.diff).toContain(
      `+    secret_ref: '<ref of ${bed.prefix}fence-config/CRED-DATA`,
    );
    expect(table.out).toContain('File changes (keys redacted)');
    expect(table.out).toContain('dry run');
    expect(await state(bed)).toEqual(before);
    expect(await secretsUnder(bed.prefix)).toEqual({});
    expect(planned.err).not.toContain('"audit"');
    expectNoKeys(bed, outputs);
  }, 120_000);

  it.each([
    ['after the first secret', 'secret'],
    ['after the first record', 'record'],
    ['before the rename (a temporary file left behind)', 'rename'],
  ] as const)(
    'resumes a run stopped %s: the rerun completes with no duplicates',
    async (_when, point) => {
      // Prepare: the migration over the same admin core, with a failure injected into one seam.
      const bed = await migrationBed();
      const outputs: string[] = [];
      const audit: (AdminAuditLine | MigrationAuditLine)[] = [];
      const killed = new Error('killed');
      let created = 0;
      let registered = 0;
      const migration = migrationWith(bed, audit, {
        create: async (create) => {
          if (point === 'secret' && created++ === 1) throw killed;
          return create();
        },
        register: async (register) => {
          if (point === 'record' && registered++ === 1) throw killed;
          return register();
        },
        files: {
          ...nodeConfigFileSystem,
          rename: async (from, to) => {
            if (point === 'rename') throw killed;
            return nodeConfigFileSystem.rename(from, to);
          },
          // A killed process cleans nothing up.
          remove: async (path) =>
            point === 'rename' && path.endsWith('.tmp') ? undefined : nodeConfigFileSystem.remove(path),
        },
      });

      // Act
      const stopped = await migration.run({ configPath: bed.configPath, removeSharedCredentials: true }).then(
        () => undefined,
        (error: unknown) => error,
      );
      const leftBehind = directoryText(bed);
      const fileAfterStop = readFileSync(bed.configPath, 'utf8');
      const filesAfterStop = readdirSync(bed.directory);
      const secretsAfterStop = Object.keys(await secretsUnder(bed.prefix)).length;
      const recordsAfterStop = (await records(bed.registry)).length;
      const resumed = await migrate(bed, outputs, '--remove-shared-credentials');

      // Assess: the run stopped where told, leaving no key outside Secrets Manager and the file.
      expect(stopped).toBe(killed);
      expect(secretsAfterStop).toBe(point === 'secret' ? 1 : 4);
      expect(recordsAfterStop).toBe({ secret: 0, record: 1, rename: 5 }[point]);
      expect(fileAfterStop).toBe(bed.source);
      expect(filesAfterStop).toEqual(
        point === 'rename'
          ? ['.fence-config.yaml.fence-buckets-migrate.tmp', 'fence-config.yaml']
          : ['fence-config.yaml'],
      );
      expectNoKeys(bed, [leftBehind.replace(bed.source, '')]);

      // The rerun completes: every secret and record exactly once, the file without keys, no temporary file.
      expect(resumed.code).toBe(0);
      expect(resumed.report?.counts).toMatchObject({
        secrets_created: point === 'secret' ? 3 : 0,
        secrets_reused: point === 'secret' ? 1 : 4,
        records_registered: { secret: 5, record: 4, rename: 0 }[point],
        records_existing: { secret: 0, record: 1, rename: 5 }[point],
      });
      const secrets = await secretsUnder(bed.prefix);
      expect(Object.values(secrets).map((secret) => secret.versions)).toEqual([1, 1, 1, 1]);
      expect((await records(bed.registry)).map((record) => record.bucket_name).sort()).toEqual(
        [...MIGRATED_BUCKETS, bed.store.bucket].sort(),
      );
      expect((await records(bed.registry)).every((record) => record.revision === 1)).toBe(true);
      expectNoKeys(bed, [directoryText(bed)]);
      expect(readdirSync(bed.directory)).toEqual(['fence-config.yaml']);
      expectNoKeys(bed, [...outputs, JSON.stringify(audit), String(stopped)]);
    },
    180_000,
  );

  it('never overwrites a secret that holds other keys, leaves a bucket registered elsewhere alone, and keeps those keys in the file', async () => {
    // Prepare: a secret of the migration's name with other keys; a bucket already registered as a role bucket.
    const bed = await migrationBed();
    const outputs: string[] = [];
    const other = { access_key_id: 'AKIAOTHERKEY0000001', secret_access_key: 'canary-other-secret-value-1' };
    await sm.send(
      new CreateSecretCommand({
        Name: `${bed.prefix}fence-config/CRED-PARTNER`,
        SecretString: JSON.stringify(other),
      }),
    );
    await bed.registry.create({
      bucket_name: 'gen3-fixture-data-archive',
      provider: 'aws',
      auth_mode: 'role',
      role_arn: 'arn:aws:iam::123456789012:role/somebody-else',
      allowed_ops: ['download'],
    });

    // Act
    const result = await migrate(bed, outputs, '--remove-shared-credentials');

    // Assess
    expect(result.code).toBe(1);
    const partner = result.report?.secrets.find((secret) => secret.credential === 'CRED-PARTNER');
    expect(partner).toMatchObject({ outcome: 'conflict' });
    expect(partner?.message).toMatch(
      /already exists and holds other keys .* nothing was overwritten, since fence-buckets migrate did not create it/,
    );
    expect(await secretValue(`${bed.prefix}fence-config/CRED-PARTNER`)).toEqual(other);
    const outcome = (bucket: string) => result.report?.records.find((record) => record.bucket === bucket);
    expect(outcome('gen3-fixture-partner')).toMatchObject({ outcome: 'blocked' });
    expect(outcome('gen3-fixture-data-archive')).toMatchObject({ outcome: 'conflict' });
    expect(outcome('gen3-fixture-data-archive')?.message).toMatch(
      /already registered with role_arn .*somebody-else/,
    );
    expect(await bed.registry.getByName('gen3-fixture-partner')).toBeUndefined();
    expect((await bed.registry.getByName('gen3-fixture-data-archive'))?.role_arn).toMatch(/somebody-else$/);
    const file = readFileSync(bed.configPath, 'utf8');
    expect(file).toContain(bed.keys['CRED-PARTNER']?.secret_access_key);
    expect(file).toContain(bed.keys['CRED-DATA']?.secret_access_key);
    expect(file).not.toContain(bed.keys['CRED-MINIO']?.secret_access_key);
    expect(result.report?.file.credentials).toEqual(['CRED-ROLE', 'CRED-MINIO']);
    expectNoKeys(bed, outputs);
    for (const text of outputs) expect(text).not.toContain(other.secret_access_key);
  }, 180_000);
  it('validates each registration as register does: keys the store refuses fail that bucket and stay in the file; --no-validate saves it', async () => {
    // Prepare: the MinIO credential's secret key is wrong in the file.
    const bed = await migrationBed();
    const outputs: string[] = [];
    const wrong = `canary-wrong-${crypto.randomUUID()}`;
    writeFileSync(bed.configPath, bed.source.replace(bed.store.secretKey, wrong));
    bed.keyValues.push(wrong);

    // Act
    const validated = await migrate(bed, outputs, '--remove-shared-credentials');
    const unvalidated = await migrate(bed, outputs, '--remove-shared-credentials', '--no-validate');

    // Assess
    expect(validated.code).toBe(1);
    const onprem = validated.report?.records.find((record) => record.bucket === bed.store.bucket);
    expect(onprem).toMatchObject({
      outcome: 'failed',
      message: expect.stringMatching(/^credentials_rejected: /),
    });
    expect(validated.report?.file.credentials).toEqual(['CRED-DATA', 'CRED-ROLE', 'CRED-PARTNER']);
    expect(validated.report?.counts.records_registered).toBe(4);
    expect(unvalidated.code).toBe(0);
    expect(unvalidated.report?.records.find((record) => record.bucket === bed.store.bucket)?.outcome).toBe(
      'registered',
    );
    expect(readFileSync(bed.configPath, 'utf8')).not.toContain(wrong);
    expectNoKeys(bed, outputs);
  }, 180_000);

  it('--backend k8s writes each credential as a secret file under the prefix, records point at it', async () => {
    // Prepare
    const bed = await migrationBed();
    const outputs: string[] = [];
    const secretsDir = mkdtempSync(join(tmpdir(), 'fbb-migrate-k8s-'));

    // Act
    const result = await cli(
      bed,
      ['--json', 'migrate', '--config', bed.configPath, '--backend', 'k8s', '--remove-shared-credentials'],
      outputs,
      { FENCE_SECRETS_DIR: secretsDir },
    );

    // Assess
    expect(result.code).toBe(0);
    for (const name of CREDENTIALS) {
      const file = join(secretsDir, `${bed.prefix}fence-config/${name}`);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(bed.keys[name]);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(await bed.registry.getByName(bed.store.bucket)).toMatchObject({
      secrets_backend: 'k8s',
      secret_ref: `${bed.prefix}fence-config/CRED-MINIO`,
    });
    const file = readFileSync(bed.configPath, 'utf8');
    expect(file).toContain(
      `# keys moved to Kubernetes secrets as ${bed.prefix}fence-config/CRED-MINIO by fence-buckets migrate on `,
    );
    expectNoKeys(bed, [file, ...outputs]);
    expect(await secretsUnder(bed.prefix)).toEqual({});
  }, 180_000);
  it('refuses usage mistakes (exit 2) and an unreadable or invalid file (exit 1), with one line naming no key', async () => {
    // Prepare
    const bed = await migrationBed();
    const outputs: string[] = [];
    const broken = join(bed.directory, 'broken.yaml');
    writeFileSync(broken, `AWS_CREDENTIALS:\n  CRED: {aws_secret_access_key: '${bed.store.secretKey}\n`);

    // Act
    const noConfig = await cli(bed, ['migrate'], outputs);
    const viaApi = await cli(
      bed,
      ['--api', 'http://127.0.0.1:1', 'migrate', '--config', bed.configPath],
      outputs,
    );
    const badBackend = await cli(bed, ['migrate', '--config', bed.configPath, '--backend', 'vault'], outputs);
    const noTable = await cli(bed, ['migrate', '--config', bed.configPath], outputs, {
      REGISTRY_TABLE_NAME: '',
    });
    const missing = await cli(bed, ['migrate', '--config', join(bed.directory, 'nope.yaml')], outputs);
    const invalid = await cli(bed, ['migrate', '--config', broken], outputs);
    const help = await cli(bed, ['migrate', '--help'], outputs);

    // Assess
    expect([noConfig.code, viaApi.code, badBackend.code, noTable.code]).toEqual([2, 2, 2, 2]);
    expect(viaApi.err).toMatch(/leave out --api/);
    expect(missing).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^error: invalid_request: cannot read .*nope\.yaml \(ENOENT\)\n$/),
    });
    expect(invalid.code).toBe(1);
    expect(invalid.err).toMatch(
      /^error: invalid_request: .*broken\.yaml is not valid YAML \([A-Z_]+ at line \d+, column \d+\)\n$/,
    );
    expect(help.out).toContain('--remove-shared-credentials');
    expect(await secretsUnder(bed.prefix)).toEqual({});
    expectNoKeys(bed, outputs);
  }, 60_000);

  it('replaces nothing when the file changed while the migration ran', async () => {
    // Prepare: someone edits the file between the migration's read and its rename.
    const bed = await migrationBed();
    const edited = `${bed.source}# edited meanwhile\n`;
    let reads = 0;
    const migration = migrationWith(bed, [], {
      files: {
        ...nodeConfigFileSystem,
        readFile: async (path: string) => {
          reads += 1;
          if (reads === 2) writeFileSync(bed.configPath, edited);
          return nodeConfigFileSystem.readFile(path);
        },
      },
    });

    // Act
    const attempt = migration.run({ configPath: bed.configPath, removeSharedCredentials: true });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'revision_conflict' });
    expect(readFileSync(bed.configPath, 'utf8')).toBe(edited);
    expect(readdirSync(bed.directory)).toEqual(['fence-config.yaml']);
  }, 120_000);
  it("refuses a 704-byte YAML alias bomb (yaml's default alias limit) and a file over 1 MiB, naming the file, before writing anything", async () => {
    // Prepare: the fixture with a "billion laughs" setting (each alias line repeats the one
    // above ten times), padded by a comment to 704 bytes; and the fixture padded past 1 MiB.
    const bed = await migrationBed();
    const outputs: string[] = [];
    let laughs = 'LAUGHS:\n  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (const [index, name] of [...'bcdefgh'].entries()) {
      const previous = index === 0 ? 'a' : ('bcdefgh'[index - 1] as string);
      laughs += `  ${name}: &${name} [${Array(10).fill(`*${previous}`).join(',')}]\n`;
    }
    const comment = '# an alias bomb\n';
    const bomb = `${laughs}${'#'.repeat(704 - laughs.length - comment.length - 1)}\n${comment}`;
    expect(Buffer.byteLength(bomb)).toBe(704);
    const bombed = join(bed.directory, 'bombed.yaml');
    writeFileSync(bombed, `${bed.source}${bomb}`);
    const large = join(bed.directory, 'large.yaml');
    writeFileSync(large, `${bed.source}${`# ${'x'.repeat(1022)}\n`.repeat(1024)}`);
    const largeBefore = readFileSync(large, 'utf8');

    // Act
    const aliases = await cli(bed, ['migrate', '--config', bombed, '--remove-shared-credentials'], outputs);
    const oversized = await cli(bed, ['migrate', '--config', large], outputs);

    // Assess
    expect(aliases.code).toBe(1);
    expect(aliases.err).toBe(
      `error: invalid_request: ${bombed} has YAML aliases that do not resolve within the yaml library's limits (more expansion than its maxAliasCount of 100 allows, or an alias without its anchor): refused, as an alias bomb would exhaust the CPU\n`,
    );
    expect(oversized.code).toBe(1);
    expect(oversized.err).toBe(
      `error: payload_too_large: ${large} is larger than 1048576 bytes, the most a Fence configuration file may hold here\n`,
    );
    expect(await secretsUnder(bed.prefix)).toEqual({});
    expect(await records(bed.registry)).toEqual([]);
    expect(readFileSync(bombed, 'utf8')).toBe(`${bed.source}${bomb}`);
    expect(readFileSync(large, 'utf8')).toBe(largeBefore);
    expectNoKeys(bed, outputs);
  }, 120_000);

  it("needs no secret for a credential with empty keys that only role buckets use (as in Fence's defaults)", async () => {
    // Prepare
    const bed = await migrationBed();
    const outputs: string[] = [];
    const roleKeys = bed.keys['CRED-ROLE'];
    writeFileSync(
      bed.configPath,
      bed.source
        .replace(`"${roleKeys?.access_key_id}"`, "''")
        .replace(`"${roleKeys?.secret_access_key}"`, "''"),
    );

    // Act
    const result = await migrate(bed, outputs, '--remove-shared-credentials');

    // Assess
    expect(result.code).toBe(0);
    expect(result.report?.secrets.find((secret) => secret.credential === 'CRED-ROLE')).toMatchObject({
      outcome: 'not_needed',
      secret_ref: null,
    });
    expect(Object.keys(await secretsUnder(bed.prefix))).toHaveLength(3);
    expect(await bed.registry.getByName('gen3-fixture-controlled')).toMatchObject({ auth_mode: 'role' });
    expect(parse(readFileSync(bed.configPath, 'utf8')).AWS_CREDENTIALS['CRED-ROLE']).toEqual({
      aws_access_key_id: '',
      aws_secret_access_key: '',
    });
  }, 120_000);

  it('finishes a rerun after the store refused a key: the secret the first run created takes the corrected key as a new version', async () => {
    // Prepare: the MinIO credential's secret key is wrong in the file; the first run creates its
    // secret (tagged as the migration's), the store refuses the key, the bucket is left out.
    const bed = await migrationBed();
    const outputs: string[] = [];
    const wrong = `canary-wrong-${crypto.randomUUID()}`;
    writeFileSync(bed.configPath, bed.source.replace(bed.store.secretKey, wrong));
    bed.keyValues.push(wrong);
    const first = await migrate(bed, outputs, '--remove-shared-credentials');
    const minioSecret = first.report?.secrets.find((secret) => secret.credential === 'CRED-MINIO');
    const secretName = `${bed.prefix}fence-config/CRED-MINIO`;

    // Act: the operator fixes the key in the file, looks at the plan, and runs again.
    writeFileSync(bed.configPath, readFileSync(bed.configPath, 'utf8').replace(wrong, bed.store.secretKey));
    const plan = await migrate(bed, outputs, '--remove-shared-credentials', '--dry-run');
    const rerun = await migrate(bed, outputs, '--remove-shared-credentials');

    // Assess: the first run left the bucket out with its secret created.
    expect(first.code).toBe(1);
    expect(minioSecret).toMatchObject({ outcome: 'created', secret_ref: expect.stringMatching(/^arn:/) });
    expect(first.report?.records.find((record) => record.bucket === bed.store.bucket)).toMatchObject({
      outcome: 'failed',
      message: expect.stringMatching(/^credentials_rejected: /),
    });
    // The dry run plans the update and exits 0: nothing would be left.
    expect(plan.code).toBe(0);
    expect(plan.report?.secrets.find((secret) => secret.credential === 'CRED-MINIO')?.outcome).toBe(
      'would_update',
    );
    expect(plan.report?.counts).toMatchObject({ secrets_updated: 1, records_registered: 1, problems: 0 });
    // The rerun finishes: the same secret holds the new key as a second version, the bucket is
    // registered with it (proven on MinIO), the file holds no key.
    expect(rerun.code).toBe(0);
    expect(rerun.report?.secrets.find((secret) => secret.credential === 'CRED-MINIO')).toMatchObject({
      outcome: 'updated',
      secret_ref: minioSecret?.secret_ref,
    });
    expect(rerun.report?.counts).toMatchObject({
      secrets_updated: 1,
      secrets_reused: 3,
      records_registered: 1,
    });
    expect((await secretsUnder(bed.prefix))[secretName]).toEqual({
      arn: minioSecret?.secret_ref,
      versions: 2,
    });
    expect(await secretValue(String(minioSecret?.secret_ref))).toEqual({
      access_key_id: bed.store.accessKey,
      secret_access_key: bed.store.secretKey,
    });
    expect(await bed.registry.getByName(bed.store.bucket)).toMatchObject({
      auth_mode: 'static',
      secret_ref: minioSecret?.secret_ref,
    });
    expect(rerun.err).toContain('"outcome":"updated"');
    expectNoKeys(bed, [readFileSync(bed.configPath, 'utf8'), ...outputs]);
  }, 180_000);

  it('never updates a secret the migration created once a record uses it: a conflict, and the dry run exits 1', async () => {
    // Prepare: as above, a first run leaves the MinIO bucket out with a wrong key in its secret;
    // then another bucket is registered with that secret.
    const bed = await migrationBed();
    const outputs: string[] = [];
    const wrong = `canary-wrong-${crypto.randomUUID()}`;
    writeFileSync(bed.configPath, bed.source.replace(bed.store.secretKey, wrong));
    bed.keyValues.push(wrong);
    const first = await migrate(bed, outputs, '--remove-shared-credentials');
    const secretRef = String(
      first.report?.secrets.find((secret) => secret.credential === 'CRED-MINIO')?.secret_ref,
    );
    await bed.registry.create({
      bucket_name: 'gen3-fixture-other-user',
      provider: 's3_compatible',
      auth_mode: 'static',
      endpoint: bed.store.endpoint,
      region: 'us-east-1',
      secrets_backend: 'aws_sm',
      secret_ref: secretRef,
      allowed_ops: ['download'],
    });
    writeFileSync(bed.configPath, readFileSync(bed.configPath, 'utf8').replace(wrong, bed.store.secretKey));

    // Act
    const plan = await migrate(bed, outputs, '--remove-shared-credentials', '--dry-run');
    const rerun = await migrate(bed, outputs, '--remove-shared-credentials');

    // Assess: planned and reported as a conflict naming the record; the secret keeps its one
    // version, the bucket stays out, its key stays in the file.
    expect(plan.code).toBe(1);
    expect(rerun.code).toBe(1);
    for (const report of [plan.report, rerun.report]) {
      const minio = report?.secrets.find((secret) => secret.credential === 'CRED-MINIO');
      expect(minio?.outcome).toBe('conflict');
      expect(minio?.message).toMatch(
        /nothing was overwritten, since the record of gen3-fixture-other-user uses it/,
      );
    }
    expect((await secretsUnder(bed.prefix))[`${bed.prefix}fence-config/CRED-MINIO`]?.versions).toBe(1);
    expect(await secretValue(secretRef)).toEqual({
      access_key_id: bed.store.accessKey,
      secret_access_key: wrong,
    });
    expect(await bed.registry.getByName(bed.store.bucket)).toBeUndefined();
    expect(readFileSync(bed.configPath, 'utf8')).toContain(bed.store.secretKey);
    expectNoKeys(bed, outputs);
  }, 180_000);
});
