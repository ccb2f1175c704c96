import type { AdminContext, AdminSecretsBackend, BucketAdmin } from '../admin/bucket-admin';
import { BrokerError, type ErrorCode, InvalidRequestError, UnknownBucketError } from '../errors';
import type { BucketRecord, SecretsBackend } from '../registry/bucket-record';
import type { IamRotationEnrollment, IamRotationRefusal } from '../rotation/iam-rotation-enrollment';
import type { SecretDescription } from '../secrets/secret-administration';
import { staticCredentialsFrom } from '../secrets/secret-shapes';
import { type ConfigFileSystem, nodeConfigFileSystem, replaceFile } from './config-file-system';
import {
  type FenceBucket,
  type FenceConfig,
  type FenceCredential,
  MAX_FENCE_CONFIG_BYTES,
  PUBLIC_CRED,
  readFenceConfig,
} from './fence-config';
import { type CredentialMove, redactedDiff, rewriteCredentials } from './fence-config-rewrite';

/** Secrets of migrated credentials live under `<prefix>fence-config/`. */
export const MIGRATED_SECRETS_SUBPATH = 'fence-config/';
/**
 * The tag naming the credential a secret was created for: every secret `migrate` creates has it
 * (since its first release), so a rerun knows which secrets are its own to correct.
 */
export const MIGRATED_CREDENTIAL_TAG = 'fence-bucket-broker:fence-credential';
/** The tag naming who ran the migration that created a secret. */
export const MIGRATED_BY_TAG = 'fence-bucket-broker:created-by';
/** Records read per page when looking for one that names a secret. */
const RECORD_PAGE = 1000;

export interface MigrationOptions {
  /** The `fence-config.yaml` to migrate. */
  configPath: string;
  /** Show the plan; write no secret, no record, no file. */
  dryRun?: boolean;
  /** Prove each bucket's credentials before its record is saved (the admin core's rule). @default true */
  validate?: boolean;
  /** Remove keys that settings outside S3_BUCKETS still use (see `OTHER_CREDENTIAL_USES`). */
  removeSharedCredentials?: boolean;
}

/** One audit line per secret the migration creates or reuses, and per file it rewrites. Never a value. */
export interface MigrationAuditLine {
  request_id: string;
  action: 'migrate_secret' | 'migrate_config';
  caller: string;
  credential?: string;
  secret_ref?: string | null;
  config?: string;
  outcome: string;
}

export interface FenceConfigMigrationDependencies {
  /**
   * The admin core: each record is registered as any registration is (validated unless told not
   * to); `list` tells whether a record uses a secret before the migration corrects its keys.
   */
  admin: Pick<BucketAdmin, 'get' | 'register' | 'list'>;
  /** The backend that receives the keys. */
  secrets: AdminSecretsBackend;
  /** The admin environment's prefix; secrets are named `<prefix>fence-config/<CRED>`. */
  secretsPrefix: string;
  /** Who runs the migration (tags of created secrets, audit lines). */
  caller: string;
  /** KMS key for created secrets. @default the backend's default */
  kmsKeyId?: string;
  audit: (line: MigrationAuditLine) => void;
  /**
   * Turns on IAM-user-key rotation for each moved AWS credential (`--enable-rotation`), after
   * its buckets are registered (the rotation proves a new key on them). @default no rotation
   */
  rotation?: IamRotationEnrollment;
  /** @default node's file system */
  files?: ConfigFileSystem;
  /** @default () => new Date() */
  now?: () => Date;
  /** @default a random id, `migrate-…` */
  requestId?: string;
}

export type SecretOutcome =
  | 'created'
  | 'reused'
  /** A secret an earlier run created for other keys, unused by any record: now holds the file's. */
  | 'updated'
  | 'would_create'
  | 'would_update'
  /** Empty keys, used by role buckets only: there is nothing to move. */
  | 'not_needed'
  | 'conflict'
  | 'invalid'
  | 'failed';
export type RecordOutcome = 'registered' | 'existing' | 'would_register' | 'conflict' | 'blocked' | 'failed';

/**
 * Rotation of a credential's keys (with `--enable-rotation`): `would_enable` in a dry run,
 * `enabled` or `already_enabled` after a run; `cannot_rotate` says why (`reason`);
 * `not_applicable` for keys of an S3-compatible store (no IAM user); `blocked` while a bucket
 * of the credential is not registered.
 */
export interface RotationReport {
  outcome:
    | 'enabled'
    | 'already_enabled'
    | 'would_enable'
    | 'cannot_rotate'
    | 'not_applicable'
    | 'blocked'
    | 'failed';
  reason?: IamRotationRefusal;
  iam_user_name?: string;
  message?: string;
}

export interface SecretReport {
  credential: string;
  /** `<prefix>fence-config/<CRED>`, or the secret an earlier migration recorded in the file. */
  name: string;
  /** The reference records and the file use (the ARN on AWS); null until the secret exists. */
  secret_ref: string | null;
  outcome: SecretOutcome;
  /** S3_BUCKETS entries that use this credential. */
  buckets: string[];
  message?: string;
  /** Only with `--enable-rotation`. */
  rotation?: RotationReport;
}

export interface RecordReport {
  bucket: string;
  auth_mode: 'static' | 'role';
  provider: 'aws' | 's3_compatible';
  credential: string;
  secret_ref: string | null;
  role_arn: string | null;
  outcome: RecordOutcome;
  message?: string;
}

export interface KeptCredential {
  credential: string;
  /** The settings that still read its keys from the file. */
  uses: string[];
  message: string;
}

export interface FileReport {
  path: string;
  outcome: 'rewritten' | 'would_rewrite' | 'unchanged';
  /** Credentials whose keys the file no longer holds (or would no longer hold). */
  credentials: string[];
  /** Moved into a secret, but their keys stay because another setting uses them. */
  kept: KeptCredential[];
  /** Credentials whose entry could not be edited, with the reason. */
  refused: { credential: string; reason: string }[];
  /** Moved keys the new file still holds elsewhere (a comment, another setting): by line. */
  leftovers: { credential: string; line: number }[];
  /** What changed, keys redacted. */
  diff: string;
}

export interface MigrationReport {
  dry_run: boolean;
  ok: boolean;
  secrets: SecretReport[];
  records: RecordReport[];
  skipped: { bucket: string; reason: string }[];
  file: FileReport;
  notes: string[];
  /** In a dry run, what would be created and registered. */
  counts: {
    secrets_created: number;
    secrets_reused: number;
    /** Secrets an earlier run created that took the file's (corrected) keys as a new version. */
    secrets_updated: number;
    records_registered: number;
    records_existing: number;
    buckets_skipped: number;
    /** Only with `--enable-rotation`: secrets whose rotation is (or would be) turned on by this run. */
    rotation_enabled?: number;
    /** Only with `--enable-rotation`: secrets rotated already, left alone. */
    rotation_existing?: number;
    problems: number;
  };
}

/** Outcomes that leave a credential moved (or, in a dry run, movable) and a bucket registered. */
const SECRET_DONE = ['created', 'reused', 'updated', 'would_create', 'would_update'];
const RECORD_DONE = ['registered', 'existing', 'would_register'];
/** Rotation outcomes that leave nothing for the operator to do. */
const ROTATION_DONE = ['enabled', 'already_enabled', 'would_enable', 'not_applicable'];

/** Errors of the broker's own backends end a run (a rerun resumes); a bucket's own problem does not. */
const FATAL_CODES = new Set<ErrorCode>([
  'secret_backend_unavailable',
  'registry_unavailable',
  'throttled',
  'internal_error',
]);

const BACKEND_LABELS: Record<SecretsBackend, string> = {
  aws_sm: 'AWS Secrets Manager',
  gcp_sm: 'GCP Secret Manager',
  vault: 'Vault',
  k8s: 'Kubernetes secrets',
};

/**
 * The one-time move out of `fence-config.yaml` (README, "Migrating out of fence-config.yaml"):
 * each static credential a bucket uses becomes one secret, each bucket one registry record
 * through the admin core, then the file loses the keys (each replaced by `secret_ref`). Every
 * step checks what an earlier run left, so a rerun after a failure at any point completes
 * without duplicates, and a rerun after success writes nothing. Plaintext goes only to the
 * secrets backend: reports, audit lines, errors and the rewritten file never hold a key.
 */
export class FenceConfigMigration {
  private readonly files: ConfigFileSystem;
  private readonly now: () => Date;

  constructor(private readonly deps: FenceConfigMigrationDependencies) {
    this.files = deps.files ?? nodeConfigFileSystem;
    this.now = deps.now ?? (() => new Date());
  }

  async run(options: MigrationOptions): Promise<MigrationReport> {
    const dryRun = options.dryRun === true;
    const context: AdminContext = {
      requestId: this.deps.requestId ?? `migrate-${crypto.randomUUID()}`,
      caller: this.deps.caller,
    };
    const source = await this.files
      .readFile(options.configPath, MAX_FENCE_CONFIG_BYTES)
      .catch((error: NodeJS.ErrnoException) => {
        if (error instanceof BrokerError) throw error;
        throw new InvalidRequestError(
          `cannot read ${options.configPath} (${error.code ?? error.name})`,
          'config',
          {
            cause: error,
          },
        );
      });
    const config = readFenceConfig(source, options.configPath);

    const usedBy = new Map<string, FenceBucket[]>();
    for (const bucket of config.buckets) {
      if (bucket.problem !== undefined || bucket.cred === undefined || bucket.cred === PUBLIC_CRED) continue;
      usedBy.set(bucket.cred, [...(usedBy.get(bucket.cred) ?? []), bucket]);
    }

    const secrets = new Map<string, SecretReport>();
    for (const [name, buckets] of usedBy) {
      const credential = config.credentials.get(name);
      if (credential === undefined) continue;
      secrets.set(name, await this.moveCredential(credential, buckets, dryRun, context));
    }

    const records: RecordReport[] = [];
    const skipped: MigrationReport['skipped'] = [];
    for (const bucket of config.buckets) {
      if (bucket.cred === PUBLIC_CRED) {
        skipped.push({ bucket: bucket.name, reason: "public bucket (cred '*'): Fence signs nothing for it" });
        continue;
      }
      records.push(await this.registerBucket(config, bucket, secrets, options, context));
    }

    const rotation = this.deps.rotation;
    if (rotation !== undefined) {
      for (const secret of secrets.values()) {
        await this.enableRotation(rotation, config, secret, records, dryRun, context);
      }
    }
    const file = await this.rewriteFile(config, options, secrets, records, context);
    const secretReports = [...secrets.values()];
    const rotations = secretReports.flatMap((secret) =>
      secret.rotation === undefined ? [] : [secret.rotation],
    );
    const count = <T extends { outcome: string }>(items: T[], outcomes: string[]) =>
      items.filter((item) => outcomes.includes(item.outcome)).length;
    const problems =
      secretReports.length -
      count(secretReports, [...SECRET_DONE, 'not_needed']) +
      (records.length - count(records, RECORD_DONE)) +
      rotations.filter((report) => !ROTATION_DONE.includes(report.outcome)).length +
      file.kept.length +
      file.refused.length +
      file.leftovers.length;
    return {
      dry_run: dryRun,
      ok: problems === 0,
      secrets: secretReports,
      records,
      skipped,
      file,
      notes: config.notes,
      counts: {
        secrets_created: count(secretReports, ['created', 'would_create']),
        secrets_reused: count(secretReports, ['reused']),
        secrets_updated: count(secretReports, ['updated', 'would_update']),
        records_registered: count(records, ['registered', 'would_register']),
        records_existing: count(records, ['existing']),
        buckets_skipped: skipped.length,
        ...(rotation === undefined
          ? {}
          : {
              rotation_enabled: count(rotations, ['enabled', 'would_enable']),
              rotation_existing: count(rotations, ['already_enabled']),
            }),
        problems,
      },
    };
  }

  /**
   * The credential's secret: created, or reused when a secret of that name already holds the
   * same keys (an earlier run). A secret holding other keys is updated only when an earlier
   * migration created it for this credential and no record uses it (the store refused the keys
   * it was created with, and the operator fixed them in the file); any other is never overwritten.
   */
  private async moveCredential(
    credential: FenceCredential,
    buckets: FenceBucket[],
    dryRun: boolean,
    context: AdminContext,
  ): Promise<SecretReport> {
    const { admin, read } = this.deps.secrets;
    const name = `${this.deps.secretsPrefix}${MIGRATED_SECRETS_SUBPATH}${credential.name}`;
    const report: SecretReport = {
      credential: credential.name,
      name: credential.secretRef ?? name,
      secret_ref: null,
      outcome: 'invalid',
      buckets: buckets.map((bucket) => bucket.name),
    };
    if (credential.empty && buckets.every((bucket) => bucket.roleArn !== undefined)) {
      report.outcome = 'not_needed';
      report.message =
        'no keys to move: its buckets are role buckets, which the broker assumes with its own role';
      return report;
    }
    if (credential.problem !== undefined) {
      report.message = credential.problem;
      return report;
    }
    const moved = (description: SecretDescription, outcome: SecretOutcome) => {
      report.secret_ref = description.ref;
      report.outcome = outcome;
    };
    await this.attempt(report, async () => {
      if (credential.secretRef !== undefined) {
        // An earlier run moved it; the file names the secret.
        const description = await admin.describe(credential.secretRef);
        if (description !== undefined) return moved(description, 'reused');
        report.outcome = 'conflict';
        report.message = `AWS_CREDENTIALS.${credential.name} names secret ${credential.secretRef}, which does not exist`;
        return;
      }
      const keys = credential.keys;
      if (keys === undefined) return;
      const description = await admin.describe(name);
      if (description === undefined) {
        if (dryRun) {
          report.outcome = 'would_create';
          return;
        }
        const created = await admin.create(
          name,
          { ...keys },
          {
            ...(this.deps.kmsKeyId === undefined ? {} : { kmsKeyId: this.deps.kmsKeyId }),
            tags: {
              [MIGRATED_CREDENTIAL_TAG]: credential.name,
              [MIGRATED_BY_TAG]: context.caller.slice(0, 256),
            },
            description: `Keys of AWS_CREDENTIALS.${credential.name}, moved out of fence-config.yaml (fence-bucket-broker)`,
          },
        );
        this.audit(context, { credential: credential.name, secret_ref: created.ref, outcome: 'created' });
        return moved(created, 'created');
      }
      const stored = staticCredentialsFrom(description.ref, await read.get(description.ref, null));
      const same =
        stored.access_key_id === keys.access_key_id && stored.secret_access_key === keys.secret_access_key;
      const refusal = same ? undefined : await this.whyNotUpdatable(credential, description);
      if (!same && refusal === undefined && admin.putValue !== undefined) {
        if (dryRun) return moved(description, 'would_update');
        await admin.putValue(description.ref, { ...keys });
        this.audit(context, { credential: credential.name, secret_ref: description.ref, outcome: 'updated' });
        return moved(description, 'updated');
      }
      if (!dryRun) {
        this.audit(context, {
          credential: credential.name,
          secret_ref: description.ref,
          outcome: same ? 'reused' : 'conflict',
        });
      }
      if (same) return moved(description, 'reused');
      report.outcome = 'conflict';
      report.secret_ref = description.ref;
      report.message = `secret ${name} already exists and holds other keys than AWS_CREDENTIALS.${credential.name}; nothing was overwritten, since ${refusal}: rename or delete that secret, then run again`;
    });
    return report;
  }

  /**
   * Why `description` may not take the file's keys as a new version, or undefined when it may:
   * the backend keeps versions, an earlier migration created it for this very credential (its
   * tag), no rotation is configured on it, and no record names it (so no bucket is signed with
   * its keys today).
   */
  private async whyNotUpdatable(
    credential: FenceCredential,
    description: SecretDescription,
  ): Promise<string | undefined> {
    const { admin } = this.deps.secrets;
    if (admin.putValue === undefined) {
      return `the migration does not update secrets in ${BACKEND_LABELS[admin.backend]}`;
    }
    if (description.tags?.[MIGRATED_CREDENTIAL_TAG] !== credential.name) {
      return `fence-buckets migrate did not create it (no tag ${MIGRATED_CREDENTIAL_TAG}: ${credential.name})`;
    }
    // A rotation owns a rotated secret's versions (and may have re-pointed a MinIO user at them).
    if (description.rotationEnabled) return 'rotation is configured on it';
    const users = await this.bucketsUsing(description);
    if (users.length > 0) return `the record of ${users.join(', ')} uses it`;
    return undefined;
  }

  /** The buckets whose record names the secret (by its ref or its name), read page by page. */
  private async bucketsUsing(description: SecretDescription): Promise<string[]> {
    const names = new Set([description.ref, description.name]);
    const users: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.admin.list({
        limit: RECORD_PAGE,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const record of page.records) {
        if (record.secret_ref !== null && names.has(record.secret_ref)) users.push(record.bucket_name);
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    return users;
  }

  /**
   * IAM-user-key rotation for one moved credential, once every bucket using it is registered
   * (the rotation's testSecret proves a new key on them). The dry run asks IAM only; a run writes
   * `iam_user_name`, the tag and the schedule (`IamRotationEnrollment`). Keys of S3-compatible
   * stores are not IAM keys: not applicable.
   */
  private async enableRotation(
    rotation: IamRotationEnrollment,
    config: FenceConfig,
    secret: SecretReport,
    records: RecordReport[],
    dryRun: boolean,
    context: AdminContext,
  ): Promise<void> {
    if (!SECRET_DONE.includes(secret.outcome)) return;
    const buckets = records.filter((record) => record.credential === secret.credential);
    if (buckets.some((record) => record.provider !== 'aws')) {
      secret.rotation = {
        outcome: 'not_applicable',
        message: 'keys of an S3-compatible store, not of an IAM user',
      };
      return;
    }
    const report: RotationReport = { outcome: 'failed' };
    secret.rotation = report;
    if (!buckets.every((record) => RECORD_DONE.includes(record.outcome))) {
      report.outcome = 'blocked';
      report.message = 'a bucket of this credential is not registered: rotation waits for its record';
      return;
    }
    await this.attempt(report, async () => {
      const description =
        secret.secret_ref === null ? undefined : await this.deps.secrets.admin.describe(secret.secret_ref);
      if (!dryRun && description === undefined) {
        report.message = `secret ${secret.name} is gone: run again`;
        return;
      }
      if (dryRun || description === undefined) {
        const keys = config.credentials.get(secret.credential)?.keys;
        const accessKeyId =
          description === undefined
            ? keys?.access_key_id
            : staticCredentialsFrom(description.ref, await this.deps.secrets.read.get(description.ref, null))
                .access_key_id;
        if (
          description?.rotationEnabled === true &&
          description.rotationFunctionArn === rotation.settings.functionArn
        ) {
          report.outcome = 'already_enabled';
          return;
        }
        if (accessKeyId === undefined) return;
        const assessment = await rotation.assess(accessKeyId);
        if (assessment.iam_user_name !== undefined) report.iam_user_name = assessment.iam_user_name;
        if (assessment.rotatable) report.outcome = 'would_enable';
        else {
          report.outcome = 'cannot_rotate';
          report.reason = assessment.reason;
          report.message = assessment.message;
        }
        return;
      }
      const payload = await this.deps.secrets.read.get(description.ref, null);
      const result = await rotation.enable(description, payload);
      if (result.iam_user_name !== undefined) report.iam_user_name = result.iam_user_name;
      if (result.outcome === 'refused') {
        report.outcome = 'cannot_rotate';
        report.reason = result.reason;
        report.message = result.message;
        return;
      }
      report.outcome = result.outcome;
      if (result.outcome === 'enabled') {
        this.audit(context, {
          credential: secret.credential,
          secret_ref: description.ref,
          outcome: 'rotation_enabled',
        });
      }
    });
  }

  /** The bucket's record, through the admin core; a record an earlier run saved is left alone. */
  private async registerBucket(
    config: FenceConfig,
    bucket: FenceBucket,
    secrets: Map<string, SecretReport>,
    options: MigrationOptions,
    context: AdminContext,
  ): Promise<RecordReport> {
    const role = bucket.roleArn !== undefined;
    const secret = bucket.cred === undefined ? undefined : secrets.get(bucket.cred);
    const report: RecordReport = {
      bucket: bucket.name,
      auth_mode: role ? 'role' : 'static',
      provider: bucket.endpointUrl !== undefined && !role ? 's3_compatible' : 'aws',
      credential: bucket.cred ?? '',
      secret_ref: role ? null : (secret?.secret_ref ?? null),
      role_arn: bucket.roleArn ?? null,
      outcome: 'failed',
    };
    if (bucket.problem !== undefined) {
      report.message = bucket.problem;
      return report;
    }
    const secretReady = secret !== undefined && SECRET_DONE.includes(secret.outcome);
    if (!role && !secretReady) {
      report.outcome = 'blocked';
      report.message = `AWS_CREDENTIALS.${bucket.cred} was not moved into a secret (${secret?.outcome ?? 'missing'})`;
      return report;
    }
    await this.attempt(report, async () => {
      const existing = await this.existingRecord(bucket.name);
      if (existing !== undefined) {
        const same = role
          ? existing.auth_mode === 'role' && existing.role_arn === bucket.roleArn
          : existing.auth_mode === 'static' &&
            existing.secret_ref !== null &&
            [secret?.secret_ref, secret?.name].includes(existing.secret_ref);
        report.outcome = same ? 'existing' : 'conflict';
        if (!same) {
          report.message = `bucket ${bucket.name} is already registered with ${existing.auth_mode === 'role' ? `role_arn ${existing.role_arn}` : `secret_ref ${existing.secret_ref}`}: left alone`;
        }
        return;
      }
      if (options.dryRun === true) {
        report.outcome = 'would_register';
        return;
      }
      const upload = bucket.upload ? (['upload', 'multipart'] as const) : [];
      const registration: Record<string, unknown> = {
        bucket_name: bucket.name,
        provider: report.provider,
        auth_mode: report.auth_mode,
        allowed_ops: ['download', ...upload],
        ...(config.maxPresignedUrlTtl === undefined ? {} : { max_expires_in: config.maxPresignedUrlTtl }),
        ...(bucket.region === undefined ? {} : { region: bucket.region }),
        ...(bucket.endpointUrl === undefined ? {} : { endpoint: bucket.endpointUrl }),
        ...(role
          ? { role_arn: bucket.roleArn }
          : { secrets_backend: this.deps.secrets.admin.backend, secret_ref: report.secret_ref }),
      };
      const record = await this.deps.admin.register(registration, context, {
        validate: options.validate !== false,
      });
      report.outcome = 'registered';
      report.secret_ref = record.secret_ref;
    });
    return report;
  }

  /**
   * Removes the keys of each credential that is fully moved: its secret exists and every bucket
   * that uses it has its record. Keys another setting still reads stay unless told otherwise.
   */
  private async rewriteFile(
    config: FenceConfig,
    options: MigrationOptions,
    secrets: Map<string, SecretReport>,
    records: RecordReport[],
    context: AdminContext,
  ): Promise<FileReport> {
    const dryRun = options.dryRun === true;
    const done = new Set(['registered', 'existing', ...(dryRun ? ['would_register'] : [])]);
    const file: FileReport = {
      path: options.configPath,
      outcome: 'unchanged',
      credentials: [],
      kept: [],
      refused: [],
      leftovers: [],
      diff: '',
    };
    const moves: CredentialMove[] = [];
    for (const [name, secret] of secrets) {
      const credential = config.credentials.get(name);
      if (credential?.keys === undefined) continue;
      const ready = ['created', 'reused', 'updated'].includes(secret.outcome);
      if (!ready && !(dryRun && ['would_create', 'would_update'].includes(secret.outcome))) continue;
      const buckets = records.filter((record) => record.credential === name);
      if (!buckets.every((record) => done.has(record.outcome))) continue;
      if (credential.otherUses.length > 0 && options.removeSharedCredentials !== true) {
        file.kept.push({
          credential: name,
          uses: credential.otherUses,
          message: `AWS_CREDENTIALS.${name} is in ${secret.name} and its buckets are registered, but its keys stay in the file: ${credential.otherUses.join(', ')} still uses them. Delete that setting and run again, or run again with --remove-shared-credentials`,
        });
        continue;
      }
      moves.push({
        credential,
        secretName: secret.name,
        secretRef: secret.secret_ref ?? `<ref of ${secret.name}, known once created>`,
      });
    }
    if (moves.length === 0) return file;

    const rewrite = rewriteCredentials(config, moves, {
      movedAt: this.now(),
      backendLabel: BACKEND_LABELS[this.deps.secrets.admin.backend],
    });
    file.refused = rewrite.refused;
    file.credentials = moves
      .map((move) => move.credential.name)
      .filter((name) => !rewrite.refused.some((refusal) => refusal.credential === name));
    file.diff = redactedDiff(options.configPath, rewrite.hunks);
    file.leftovers = leftovers(
      rewrite.text,
      moves.filter((move) => file.credentials.includes(move.credential.name)),
    );
    if (file.credentials.length === 0) return file;
    if (dryRun) {
      file.outcome = 'would_rewrite';
      return file;
    }
    await replaceFile(this.files, options.configPath, rewrite.text, config.source);
    file.outcome = 'rewritten';
    this.deps.audit({
      request_id: context.requestId,
      action: 'migrate_config',
      caller: context.caller,
      config: options.configPath,
      outcome: 'rewritten',
    });
    return file;
  }

  private async existingRecord(bucketName: string): Promise<BucketRecord | undefined> {
    try {
      return await this.deps.admin.get(bucketName);
    } catch (error) {
      if (error instanceof UnknownBucketError) return undefined;
      throw error;
    }
  }

  /**
   * Runs one step; a refusal of this credential or bucket becomes its outcome, while failures of
   * the broker's own backends (and anything unexpected) end the run: a rerun resumes.
   */
  private async attempt(
    report: SecretReport | RecordReport | RotationReport,
    step: () => Promise<void>,
  ): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (!(error instanceof BrokerError) || FATAL_CODES.has(error.code)) throw error;
      report.outcome = 'failed';
      report.message = `${error.code}: ${error.message}`;
    }
  }

  private audit(
    context: AdminContext,
    line: Pick<MigrationAuditLine, 'credential' | 'secret_ref' | 'outcome'>,
  ) {
    this.deps.audit({
      request_id: context.requestId,
      action: 'migrate_secret',
      caller: context.caller,
      ...line,
    });
  }
}

/** Lines of the new file that still hold a moved key (outside the entry: a comment, another setting). */
function leftovers(text: string, moves: CredentialMove[]): { credential: string; line: number }[] {
  const found: { credential: string; line: number }[] = [];
  const lines = text.split('\n');
  for (const move of moves) {
    const keys = move.credential.keys;
    if (keys === undefined) continue;
    lines.forEach((line, index) => {
      if (line.includes(keys.access_key_id) || line.includes(keys.secret_access_key)) {
        found.push({ credential: move.credential.name, line: index + 1 });
      }
    });
  }
  return found;
}
