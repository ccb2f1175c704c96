import {
  type AdminSecretsBackend,
  BucketProof,
  type BucketProofDependencies,
  type BucketProofResult,
} from '../admin/bucket-proof';
import type { AssumedRoleCredentials } from '../credentials/assumed-role-credentials';
import { type BucketRecordShapeError, InvalidRequestError } from '../errors';
import type { StoreEndpointPolicy } from '../network/store-endpoint-policy';
import { type ProbeCredentials, probeBucketAccess } from '../probes/bucket-access-probe';
import type { BucketRecord } from '../registry/bucket-record';
import type { BucketRegistry } from '../registry/bucket-registry';
import { ReaderRetirementGrace } from '../rotation/retirement-grace';
import {
  minimumRotationIntervalSeconds,
  type RotationReaders,
  scheduledRotation,
} from '../rotation/rotation-interval';
import type { SecretUrlLifetimes } from '../rotation/secret-url-lifetimes';
import type { SecretDescription } from '../secrets/secret-administration';
import type { SecretPayload } from '../secrets/secret-resolver';
import { DriftFinding, failureMessage, forEachBounded, withTimeout } from './drift-finding';
import {
  type DriftBucketResult,
  type DriftCheckName,
  type DriftCheckResult,
  type DriftReport,
  driftTotals,
} from './drift-results';
import type { KmsKeys } from './kms-keys';
import { isMinioRotated, type MinioAdminAccess, MinioRotationDrift } from './minio-rotation-drift';
import { checkIamRotation, checkRotationSchedule, OWN_ROTATION, rotatedSecretKind } from './rotated-secrets';
import { memoizedBackend, memoizedKmsKeys, memoizedResourcePolicies } from './run-memo';
import type { SecretResourcePolicies } from './secret-resource-policies';
import { accountOfArn, resourcePolicyFindings } from './secret-resource-policy';
import {
  checkStaticKeyAge,
  DEFAULT_MAX_STATIC_KEY_AGE_DAYS,
  signingVersionId,
  signsWithStaticAwsKey,
} from './static-key-age';

/** The readers' settings the rotation rules need (the presign function's, as rotation reads them). */
export interface DriftReaderSettings extends Omit<RotationReaders, 'maxUrlLifetimeSeconds'> {
  /** URL lifetime assumed for every secret; the registry may raise it (rotation's floor). */
  defaultMaxUrlLifetimeSeconds: number;
}

export interface DriftCheckDependencies {
  /** Where the records come from: every page of the registry. */
  registry: Pick<BucketRegistry, 'list'>;
  /** The backends this deployment runs, as the admin core reads and describes them. */
  backends: Partial<Record<SecretsBackend, AdminSecretsBackend>>;
  /**
   * AssumeRole for role buckets. A factory: each run gets its own (empty) credentials cache, so
   * each run proves every role's trust afresh, with one call per (role, external id).
   */
  roles: () => Pick<AssumedRoleCredentials, 'get'>;
  secretsPrefix: string;
  /** Proves credentials on a bucket. @default probeBucketAccess, with the check timeout */
  probe?: (record: BucketRecord, credentials: ProbeCredentials, timeoutMs: number) => Promise<void>;
  /** Proves a signer on a GCS bucket. @default probeGcsBucketAccess */
  gcsProbe?: BucketProofDependencies['gcsProbe'];
  /** Signs as GCP service accounts (workload-identity buckets); absent without a Google identity. */
  workloadIdentity?: BucketProofDependencies['workloadIdentity'];
  /** KMS `DescribeKey`, for secrets in AWS Secrets Manager. @default the check is left out */
  kms?: KmsKeys;
  /** Secrets Manager `GetResourcePolicy`. @default the check is left out */
  resourcePolicies?: SecretResourcePolicies;
  /** MinIO's admin API, for the keys of MinIO-rotated secrets. @default those checks fail, saying so */
  minioAdmin?: MinioAdminAccess;
  readers: DriftReaderSettings;
  /** Accept `http` MinIO endpoints in rotation metadata (tests, development). @default false */
  allowInsecureMinioHttp?: boolean;
  /**
   * Where records' endpoints may point (checked first, then at connect time by the default
   * probes). @default the process's (`STORE_ENDPOINT_…` variables)
   */
  endpointPolicy?: StoreEndpointPolicy;
  /**
   * The oldest a version pinned by a custom staging label may be, in days, before the pin is a
   * finding (`pin_age`): such a version keeps its key through every rotation, so a forgotten
   * blue/green pin keeps an old key signing for good. @default DEFAULT_MAX_PIN_AGE_DAYS
   */
  maxPinAgeDays?: number;
  /**
   * The oldest a static AWS key without rotation may be, in days, before it is a finding
   * (`key_age`), aged by its secret version's creation date. @default DEFAULT_MAX_STATIC_KEY_AGE_DAYS
   */
  maxStaticKeyAgeDays?: number;
  /** @default () => new Date() */
  clock?: () => Date;
}

export interface DriftRunOptions {
  /** Check only these buckets (names); a name with no record is reported as failed. @default every record */
  buckets?: readonly string[];
  /** Buckets checked at the same time. */
  concurrency: number;
  /** The longest one check may take; a check without an answer by then fails, naming the timeout. */
  checkTimeoutMs: number;
  /** Called as each bucket's result is known (a progress bar). */
  onResult?: (result: DriftBucketResult, done: number, total: number) => void;
}

type SecretsBackend = NonNullable<BucketRecord['secrets_backend']>;

/** `DRIFT_MAX_PIN_AGE_DAYS` unless set: a month, the rotation interval the README suggests. */
export const DEFAULT_MAX_PIN_AGE_DAYS = 30;

/** Labels a backend moves by itself: a pin to one of them is not a custom-label pin. */
const BACKEND_LABELS = new Set(['AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING', 'latest']);

const DAY_MS = 86_400_000;

const PAGE = 1000;

/**
 * The drift check (DESIGN.md: the scheduled drift-check Lambda, and `fence-buckets drift-check`):
 * every registry record, checked with bounded concurrency, each check under a timeout, one
 * failing bucket never stopping the run. Per bucket: the registration proof (`BucketProof`, the
 * code the admin core's validate runs), then for secrets in Secrets Manager their KMS key and
 * resource policy, for rotated secrets the URL-lifetime rule, for static AWS keys without rotation
 * their age, for every rotated secret (MinIO, IAM-user key) the rotation's schedule, and for
 * MinIO-rotated ones the parent's keys, by the rotation module's own rules. Suspended
 * records are reported, not checked. Results name refs, fields and key hints, never a value.
 */
export class DriftCheck {
  private readonly clock: () => Date;

  constructor(private readonly deps: DriftCheckDependencies) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async run(options: DriftRunOptions): Promise<DriftReport> {
    const started = this.clock();
    const startedMs = performance.now();
    const { records, malformed } = await this.listAll();
    const results: DriftBucketResult[] = [];
    const wanted = options.buckets === undefined ? undefined : new Set(options.buckets);
    for (const error of malformed) {
      if (wanted !== undefined && !wanted.has(error.bucketName)) continue;
      results.push({
        bucket: error.bucketName,
        status: 'failed',
        checks: [{ name: 'record', ok: false, message: failureMessage(error) }],
      });
    }
    if (wanted !== undefined) {
      const known = new Set([
        ...records.map((record) => record.bucket_name),
        ...results.map((r) => r.bucket),
      ]);
      for (const name of wanted) {
        if (known.has(name)) continue;
        results.push({
          bucket: name,
          status: 'failed',
          checks: [{ name: 'record', ok: false, message: `no bucket named "${name}" is registered` }],
        });
      }
    }
    const selected =
      wanted === undefined ? records : records.filter((record) => wanted.has(record.bucket_name));
    const total = selected.length + results.length;
    for (const [index, result] of results.entries()) options.onResult?.(result, index + 1, total);

    const run = this.runContext(records, options);
    await forEachBounded(selected, options.concurrency, async (record) => {
      const result = await this.checkBucket(record, run).catch(
        (error: unknown): DriftBucketResult => ({
          bucket: record.bucket_name,
          id: record.id,
          status: 'failed',
          checks: [{ name: 'record', ok: false, message: failureMessage(error) }],
        }),
      );
      results.push(result);
      options.onResult?.(result, results.length, total);
    });
    results.sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0));
    const finished = this.clock();
    return {
      started_at: started.toISOString(),
      finished_at: finished.toISOString(),
      duration_ms: Math.round(performance.now() - startedMs),
      scope: wanted === undefined ? 'all' : 'named',
      totals: driftTotals(results),
      results,
    };
  }

  /**
   * What one run shares between its buckets: the proof, AssumeRole's cache, MinIO listings, and
   * one answer per secret and KMS key (records share them: 400 buckets under 40 secrets cost 40
   * descriptions, not 400).
   */
  private runContext(records: readonly BucketRecord[], options: DriftRunOptions) {
    const timeoutMs = options.checkTimeoutMs;
    const probe =
      this.deps.probe ??
      ((record: BucketRecord, credentials: ProbeCredentials, ms: number) =>
        probeBucketAccess(record, credentials, {
          timeoutMs: ms,
          ...(this.deps.endpointPolicy === undefined ? {} : { policy: this.deps.endpointPolicy }),
        }));
    const backends: BucketProofDependencies['backends'] = {};
    for (const [name, backend] of Object.entries(this.deps.backends) as [
      SecretsBackend,
      AdminSecretsBackend,
    ][]) {
      backends[name] = memoizedBackend(backend);
    }
    const proofDeps: BucketProofDependencies = {
      backends,
      roles: this.deps.roles(),
      secretsPrefix: this.deps.secretsPrefix,
      probe: (record, credentials) => probe(record, credentials, timeoutMs),
      ...(this.deps.gcsProbe === undefined ? {} : { gcsProbe: this.deps.gcsProbe }),
      ...(this.deps.workloadIdentity === undefined ? {} : { workloadIdentity: this.deps.workloadIdentity }),
      ...(this.deps.endpointPolicy === undefined ? {} : { endpointPolicy: this.deps.endpointPolicy }),
    };
    const grace = new ReaderRetirementGrace({
      ...this.deps.readers,
      urlLifetimes: new RegistryUrlLifetimes(records),
    });
    const minio =
      this.deps.minioAdmin === undefined
        ? undefined
        : new MinioRotationDrift({
            admin: this.deps.minioAdmin,
            grace,
            allowInsecureHttp: this.deps.allowInsecureMinioHttp === true,
            clock: this.clock,
            timeoutMs,
          });
    return {
      proof: new BucketProof(proofDeps),
      minio,
      timeoutMs,
      kms: this.deps.kms === undefined ? undefined : memoizedKmsKeys(this.deps.kms),
      policies:
        this.deps.resourcePolicies === undefined
          ? undefined
          : memoizedResourcePolicies(this.deps.resourcePolicies),
    };
  }

  private async checkBucket(
    record: BucketRecord,
    run: ReturnType<DriftCheck['runContext']>,
  ): Promise<DriftBucketResult> {
    const base = { bucket: record.bucket_name, id: record.id };
    if (record.status === 'suspended') return { ...base, status: 'suspended', checks: [] };
    const proven = await run.proof.run(record, {
      guard: (name, work) => withTimeout(name, run.timeoutMs, work),
      unexpected: 'fail',
    });
    const checks: DriftCheckResult[] = [...proven.checks];
    const check = async (name: DriftCheckName, work: () => Promise<string>): Promise<void> => {
      try {
        checks.push({ name, ok: true, message: await withTimeout(name, run.timeoutMs, work) });
      } catch (error) {
        checks.push({ name, ok: false, message: failureMessage(error) });
      }
    };
    const secret = proven.secret;
    if (secret !== undefined) {
      await this.checkPinAge(record, secret, check);
      await this.checkSecret(record, secret, run, check);
    }
    return { ...base, status: checks.every((entry) => entry.ok) ? 'passed' : 'failed', checks };
  }

  /**
   * A pin to a custom staging label (not a version id, not a label the backend moves itself) is
   * no older than `maxPinAgeDays`, by its version's creation date. Backends without custom labels
   * (no `versionCreatedAt`) have no such pins.
   */
  private async checkPinAge(
    record: BucketRecord,
    secret: NonNullable<BucketProofResult['secret']>,
    check: (name: DriftCheckName, work: () => Promise<string>) => Promise<void>,
  ): Promise<void> {
    const label = record.secret_version;
    const { description, backend } = secret;
    const admin = backend.admin;
    if (label === null || BACKEND_LABELS.has(label) || admin.versionCreatedAt === undefined) return;
    if (description.versions.some((version) => version.id === label)) return;
    const pinned = description.versions.find((version) => version.stages.includes(label));
    // A label that names no version is the proof's `secret_pin` finding already.
    if (pinned === undefined) return;
    const maxDays = this.deps.maxPinAgeDays ?? DEFAULT_MAX_PIN_AGE_DAYS;
    await check('pin_age', async () => {
      const created = await admin.versionCreatedAt?.(description.ref, pinned.id);
      if (created === undefined) {
        throw new DriftFinding(`${description.name}: the version labelled ${label} has no creation date`);
      }
      const days = Math.floor((this.clock().getTime() - created.getTime()) / DAY_MS);
      if (days > maxDays) {
        throw new DriftFinding(
          `${description.name} is pinned to ${label}, a version created ${created.toISOString()}, ${days} days ago: older than the ${maxDays}-day limit (DRIFT_MAX_PIN_AGE_DAYS); its key outlives every rotation: move the label to a newer version, or unpin`,
        );
      }
      return `pinned to ${label}, a version created ${days} day(s) ago (limit ${maxDays})`;
    });
  }

  /** The checks of a bucket's secret beyond the proof. */
  private async checkSecret(
    record: BucketRecord,
    secret: NonNullable<BucketProofResult['secret']>,
    run: ReturnType<DriftCheck['runContext']>,
    check: (name: DriftCheckName, work: () => Promise<string>) => Promise<void>,
  ): Promise<void> {
    const { description, backend } = secret;
    const ref = description.ref;
    if (record.secrets_backend === 'aws_sm') {
      const kms = run.kms;
      if (kms !== undefined) await check('kms_key', () => checkKmsKey(kms, record, description));
      const policies = run.policies;
      if (policies !== undefined) {
        await check('resource_policy', async () => {
          const account = accountOfArn(ref);
          if (account === undefined)
            throw new DriftFinding(`${ref} is not a secret ARN; its account is unknown`);
          const findings = resourcePolicyFindings(await policies.get(ref), account);
          if (findings.length > 0) throw new DriftFinding(`${description.name}: ${findings.join('; ')}`);
          return 'no wildcard principal, and none outside the account without a condition';
        });
      }
    }
    if (description.rotationEnabled) {
      await check('url_lifetime', async () => checkUrlLifetime(record, description, this.deps.readers));
    }
    // The rotation metadata sits in every version; AWSCURRENT is what rotation works from.
    const versions = new Map<string, Promise<SecretPayload>>();
    const readVersion = (versionId: string) => {
      let read = versions.get(versionId);
      if (read === undefined) {
        read = backend.read.get(ref, versionId);
        versions.set(versionId, read);
      }
      return read;
    };
    const currentVersion = description.versions.find((version) => version.stages.includes('AWSCURRENT'));
    let current: SecretPayload | undefined;
    if (record.secret_version === null && secret.payload !== undefined) {
      // The proof read AWSCURRENT already: no second read of the same version.
      current = secret.payload;
      if (currentVersion !== undefined) versions.set(currentVersion.id, Promise.resolve(current));
    } else if (currentVersion !== undefined) {
      current = await readVersion(currentVersion.id).catch(() => undefined);
    }
    const staticKey = signsWithStaticAwsKey(record, secret.payload) ? secret.payload : undefined;
    const versionCreatedAt = backend.admin.versionCreatedAt?.bind(backend.admin);
    const signingVersion = signingVersionId(description, record.secret_version);
    if (staticKey !== undefined && versionCreatedAt !== undefined && signingVersion !== undefined) {
      await check('key_age', () =>
        checkStaticKeyAge({
          description,
          versionId: signingVersion,
          accessKeyId: String(staticKey.access_key_id),
          versionCreatedAt,
          now: this.clock(),
          maxDays: this.deps.maxStaticKeyAgeDays ?? DEFAULT_MAX_STATIC_KEY_AGE_DAYS,
        }),
      );
    }
    const kind =
      rotatedSecretKind(description, current) ??
      // A static AWS key rotated by a function of the operator's own is held to its schedule too.
      (staticKey !== undefined && description.rotationEnabled ? OWN_ROTATION : undefined);
    if (kind === undefined) return;
    if (kind.rotation === 'IAM') {
      await check('rotation', async () => checkIamRotation(description, kind, current, this.clock()));
      return;
    }
    if (kind.rotation !== 'MinIO' || !isMinioRotated(current)) {
      await check('rotation', async () => checkRotationSchedule(description, kind, this.clock()));
      return;
    }
    const rotated = current;
    await check('rotation', async () => run.minio?.checkRotation(description, rotated) ?? noMinioAdmin());
    await check('managed_keys', async () => {
      if (run.minio === undefined) return noMinioAdmin();
      return run.minio.checkManagedKeys(
        description,
        run.minio.rotationSecret(description.name, rotated),
        readVersion,
      );
    });
  }

  /** Every record, page by page; malformed ones are kept aside to be reported, not dropped. */
  private async listAll(): Promise<{ records: BucketRecord[]; malformed: BucketRecordShapeError[] }> {
    const records: BucketRecord[] = [];
    const malformed: BucketRecordShapeError[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.registry.list({
        limit: PAGE,
        tolerateMalformed: true,
        ...(cursor === undefined ? {} : { cursor }),
      });
      records.push(...page.records);
      malformed.push(...(page.malformed ?? []));
      cursor = page.cursor;
    } while (cursor !== undefined);
    return { records, malformed };
  }
}

function noMinioAdmin(): never {
  throw new InvalidRequestError('this drift check has no access to MinIO admin credentials');
}

/**
 * The secret's KMS key is the one the record names (`kms_key_ref`: an id, ARN or alias of the same
 * key) and is enabled. A record without `kms_key_ref` accepts any key, as long as it is enabled.
 */
async function checkKmsKey(
  kms: KmsKeys,
  record: BucketRecord,
  description: SecretDescription,
): Promise<string> {
  const used = description.kmsKeyId;
  if (used === undefined && record.kms_key_ref === null) {
    return `${description.name} uses the AWS managed key aws/secretsmanager`;
  }
  const usedRef = used ?? 'alias/aws/secretsmanager';
  const key = await kms.describe(usedRef);
  if (key === undefined)
    throw new DriftFinding(`the KMS key ${usedRef} of ${description.name} does not exist`);
  if (record.kms_key_ref !== null) {
    const named = await kms.describe(record.kms_key_ref);
    if (named === undefined) throw new DriftFinding(`kms_key_ref ${record.kms_key_ref} names no KMS key`);
    if (named.arn !== key.arn) {
      throw new DriftFinding(
        `${description.name} is encrypted with ${key.arn}, but the record's kms_key_ref ${record.kms_key_ref} is ${named.arn}`,
      );
    }
  }
  if (!key.enabled) {
    throw new DriftFinding(
      `the KMS key ${key.arn} of ${description.name} is ${key.state}: Secrets Manager cannot decrypt the secret`,
    );
  }
  return `${description.name} is encrypted with ${key.arn}, which is enabled`;
}

/**
 * The record's `max_expires_in` fits its secret's rotation interval by the rule the rotation
 * construct enforces: the interval must exceed the grace (with this URL lifetime) plus the window.
 */
function checkUrlLifetime(
  record: BucketRecord,
  description: SecretDescription,
  readers: DriftReaderSettings,
): string {
  const schedule = scheduledRotation(description.rotationRules ?? {});
  if (schedule === undefined) {
    return `${description.name} has no fixed rotation interval to hold max_expires_in to`;
  }
  const needed = minimumRotationIntervalSeconds({
    ...readers,
    maxUrlLifetimeSeconds: record.max_expires_in,
    rotationWindowSeconds: schedule.windowSeconds,
  });
  if (schedule.intervalSeconds <= needed) {
    const room = Math.floor(record.max_expires_in - (needed - schedule.intervalSeconds)) - 1;
    throw new DriftFinding(
      `max_expires_in ${record.max_expires_in} s needs rotation intervals longer than ${Math.ceil(needed)} s, but ${description.name} rotates every ${schedule.intervalSeconds} s: ${room > 0 ? `lower max_expires_in to at most ${room} s, or ` : ''}rotate less often`,
    );
  }
  return `max_expires_in ${record.max_expires_in} s fits rotation every ${schedule.intervalSeconds} s (needs more than ${Math.ceil(needed)} s)`;
}

/**
 * The registry's URL lifetimes from the run's own listing (rotation reads the table for the
 * same numbers): the longest `max_expires_in` of the records whose `secret_ref` contains the name.
 */
class RegistryUrlLifetimes implements SecretUrlLifetimes {
  constructor(private readonly records: readonly BucketRecord[]) {}

  async longestFor(secret: { name: string; arn: string }): Promise<number | undefined> {
    let longest: number | undefined;
    for (const record of this.records) {
      if (record.secret_ref?.includes(secret.name)) longest = Math.max(longest ?? 0, record.max_expires_in);
    }
    return longest;
  }
}
