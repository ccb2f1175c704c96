import {
  BrokerError,
  BucketExistsError,
  InvalidRequestError,
  RevisionConflictError,
  RotationNotConfiguredError,
  UnknownBucketError,
  UnknownSecretError,
} from '../errors';
import {
  applyBucketChanges,
  type BucketChanges,
  type BucketRecord,
  BucketRegistrationSchema,
  DEFAULT_MAX_EXPIRES_IN,
  type SecretsBackend,
} from '../registry/bucket-record';
import type { BucketPage, BucketRegistry, MirrorOutcome } from '../registry/bucket-registry';
import { assertRecordPolicy, type RecordPolicy } from '../registry/record-policy';
import type { SecretDescription } from '../secrets/secret-administration';
import type { SecretPayload } from '../secrets/secret-resolver';
import { parseRequest } from '../validation';
import {
  type ListBucketsQuery,
  ListBucketsQuerySchema,
  type NewSecretKeys,
  PatchBucketRequestSchema,
  RegistrationOptionsSchema,
} from './admin-requests';
import {
  type AdminSecretsBackend,
  BucketProof,
  type BucketProofDependencies,
  type ProofCheck,
} from './bucket-proof';

export type { AdminSecretsBackend } from './bucket-proof';

/** Who asks, and under which request id (for the audit line and the tags of created secrets). */
export interface AdminContext {
  requestId: string;
  /** The caller's ARN (or `local` on the local runner). */
  caller: string;
}

/** One audit line per admin action (DESIGN.md "Logging and audit"): never a secret value. */
export interface AdminAuditLine {
  request_id: string;
  action: AdminAction;
  caller: string;
  bucket: string | undefined;
  bucket_id: string | undefined;
  secret_ref: string | null | undefined;
  /** Fields a patch changed. */
  changes?: string[];
  /**
   * With Fence DB as the registry of record: whether the saved record also reached the DynamoDB
   * mirror at once (`mirror_failed`: saved, and the next sync copies it).
   */
  mirror?: MirrorOutcome;
  outcome: 'ok' | string;
  status: number;
  latency_ms: number;
}

export type AdminAction = 'register' | 'patch' | 'rotate' | 'validate';

export interface BucketAdminDependencies extends BucketProofDependencies {
  registry: BucketRegistry;
  /** Receives one line per admin action. */
  audit: (line: AdminAuditLine) => void;
  /** Recovery window for a secret created by a registration that then failed. @default 7 */
  recoveryWindowDays?: number;
  /**
   * The deployment's cap on `max_expires_in` in seconds (`MAX_URL_LIFETIME_SECONDS`): records
   * above it are refused. @default 3600
   */
  maxExpiresInCap?: number;
  /** @default performance.now */
  now?: () => number;
}

/** One check of a validation report. Messages name refs and fields, never values. */
export type ValidationCheck = ProofCheck<'record' | ProofCheck['name']>;

export interface ValidationReport {
  bucket: string;
  id: string;
  ok: boolean;
  checks: ValidationCheck[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The admin core (DESIGN.md "Admin API and CLI"): register, list, get, patch, rotate, validate.
 * The admin Lambda, the CLI and the local runner all call this one implementation. Nothing is
 * saved until the credentials are proven on the bucket, keys handed over are written to the
 * secrets manager at once and never kept, and every action writes one audit line.
 */
export class BucketAdmin {
  private readonly proof: BucketProof;
  private readonly now: () => number;
  /** The record rules the sync and presign apply too (`registry/record-policy.ts`). */
  private readonly policy: RecordPolicy;

  constructor(private readonly deps: BucketAdminDependencies) {
    this.proof = new BucketProof(deps);
    this.now = deps.now ?? (() => performance.now());
    this.policy = {
      secretsPrefix: deps.secretsPrefix,
      maxExpiresInCap: deps.maxExpiresInCap ?? DEFAULT_MAX_EXPIRES_IN,
    };
  }

  /**
   * Registers a bucket, with `secret_ref` (an existing secret) or `create_secret: true` and the
   * keys (written to the backend under `<prefix><provider>/<bucket>`). `validate: false` skips
   * the proof on the bucket (the migration's `--no-validate`).
   */
  register(
    body: unknown,
    context: AdminContext,
    options: { validate?: boolean } = {},
  ): Promise<BucketRecord> {
    return this.audited('register', context, async (line) => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new InvalidRequestError('request body must be a JSON object');
      }
      const { create_secret: createSecret, secret: keys } = parseRequest(RegistrationOptionsSchema, body);
      const { create_secret: _flag, secret: _keys, ...fields } = body as Record<string, unknown>;
      line.bucket = typeof fields.bucket_name === 'string' ? fields.bucket_name.slice(0, 222) : undefined;
      let newSecretName: string | undefined;
      if (createSecret === true) {
        if (keys === undefined)
          throw new InvalidRequestError('secret is required with create_secret', 'secret');
        if (fields.secret_ref !== undefined && fields.secret_ref !== null) {
          throw new InvalidRequestError('give either secret_ref or create_secret, not both', 'secret_ref');
        }
        if (fields.secret_version !== undefined && fields.secret_version !== null) {
          throw new InvalidRequestError(
            'a new secret has a single version: leave secret_version out',
            'secret_version',
          );
        }
        fields.secrets_backend ??= this.defaultBackend();
        newSecretName = `${this.deps.secretsPrefix}${String(fields.provider)}/${String(fields.bucket_name)}`;
        // The ref the secret will get; the record is checked with it before anything is written.
        fields.secret_ref = this.plannedRef(fields.secrets_backend, newSecretName);
      } else if (keys !== undefined) {
        throw new InvalidRequestError('keys may only be given with create_secret: true', 'secret');
      }
      // Fence's default hour, unless the deployment allows less: leaving the field out is never refused.
      fields.max_expires_in ??= Math.min(DEFAULT_MAX_EXPIRES_IN, this.policy.maxExpiresInCap);
      const registration = parseRequest(BucketRegistrationSchema, fields);
      // Before any secret is created or read, and even without the proof (`--no-validate`).
      this.proof.checkEndpoint(registration);
      // Before anything is written. A secret to create is checked by its name below: its ref is
      // the backend's to give (a Vault ref gains the mount).
      assertRecordPolicy(
        createSecret === true ? { ...registration, secret_ref: null } : registration,
        this.policy,
      );
      if (createSecret === true && registration.auth_mode !== 'static') {
        throw new InvalidRequestError('create_secret is for auth_mode static', 'create_secret');
      }
      if (keys !== undefined && 'service_account_key_json' in keys !== (registration.provider === 'gcp')) {
        throw new InvalidRequestError(
          registration.provider === 'gcp'
            ? "a GCP bucket's secret is {service_account_key_json}"
            : "an S3 bucket's secret is {access_key_id, secret_access_key, …}",
          'secret',
        );
      }
      if (keys !== undefined && newSecretName !== undefined) {
        // Before anything is written: a payload the presign path could never read (a service
        // account key that is not one) would otherwise be created, then only removed with a
        // recovery window, holding the name; or kept, with `validate: false`.
        this.proof.checkShape(newSecretName, newSecretPayload(keys), registration.provider);
      }
      if ((await this.deps.registry.getByName(registration.bucket_name)) !== undefined) {
        throw new BucketExistsError(registration.bucket_name);
      }

      let created: { backend: AdminSecretsBackend; description: SecretDescription } | undefined;
      let payload: SecretPayload | undefined;
      if (registration.auth_mode === 'static') {
        const backend = this.proof.backend(registration.secrets_backend);
        if (createSecret === true && keys !== undefined && newSecretName !== undefined) {
          const name = newSecretName;
          this.proof.checkPrefix(name, 'secret_ref');
          const description = await backend.admin.create(name, newSecretPayload(keys), {
            ...(registration.kms_key_ref ? { kmsKeyId: registration.kms_key_ref } : {}),
            tags: {
              'fence-bucket-broker:bucket': registration.bucket_name,
              'fence-bucket-broker:created-by': context.caller.slice(0, 256),
            },
            description: `Credentials of bucket ${registration.bucket_name} (fence-bucket-broker)`,
          });
          created = { backend, description };
          registration.secret_ref = description.ref;
          payload = newSecretPayload(keys);
        } else {
          const description = await this.proof.describeUsable(backend, String(registration.secret_ref));
          this.proof.checkPin(description, registration.secret_version ?? null);
          registration.secret_ref = description.ref;
          payload = await this.proof.readPayload(
            backend,
            description.ref,
            registration.secret_version ?? null,
            registration.provider,
          );
        }
        line.secret_ref = registration.secret_ref;
      }

      try {
        const candidate = parseRequest(BucketRegistrationSchema, registration);
        assertRecordPolicy(candidate, this.policy);
        if (options.validate !== false) {
          await this.proof.proveAccess(asRecord(candidate), payload);
        }
        const record = await this.deps.registry.create(candidate);
        line.bucket_id = record.id;
        this.noteMirror(line, record);
        return record;
      } catch (error) {
        if (created !== undefined) throw await this.discard(created, error);
        throw error;
      }
    });
  }

  async list(query: unknown = {}): Promise<BucketPage> {
    const options: ListBucketsQuery = parseRequest(ListBucketsQuerySchema, query);
    const page = await this.deps.registry.list({
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
    });
    const records = page.records.filter(
      (record) =>
        (options.status === undefined || record.status === options.status) &&
        (options.provider === undefined || record.provider === options.provider),
    );
    return page.cursor === undefined ? { records } : { records, cursor: page.cursor };
  }

  /** A record by id (a UUID) or by bucket name. */
  async get(idOrName: string): Promise<BucketRecord> {
    const record = UUID.test(idOrName)
      ? await this.deps.registry.getById(idOrName)
      : await this.deps.registry.getByName(idOrName);
    if (record === undefined) throw new UnknownBucketError(idOrName.slice(0, 222));
    return record;
  }

  /**
   * Changes a record if `revision` is still the stored one. The result must hold the record
   * rules, except a plain suspension (taking a bucket out of service is never blocked). A pin
   * must name a version or label that exists; a change of pin, endpoint or region on an active
   * bucket is proven first, and so is a resume: a bucket serves again only once its credentials
   * are proven on it, so one suspended because its key leaked or broke stays suspended until the
   * key is fixed.
   */
  patch(idOrName: string, body: unknown, context: AdminContext): Promise<BucketRecord> {
    return this.audited('patch', context, async (line) => {
      const { revision, ...changes } = parseRequest(PatchBucketRequestSchema, body);
      line.changes = Object.keys(changes);
      const current = await this.get(idOrName);
      Object.assign(line, {
        bucket: current.bucket_name,
        bucket_id: current.id,
        secret_ref: current.secret_ref,
      });
      if (current.revision !== revision) {
        throw new RevisionConflictError(
          `bucket ${current.bucket_name} is at revision ${current.revision}, not ${revision}`,
        );
      }
      const next = applyBucketChanges(current, changes as BucketChanges, new Date());
      // A suspended bucket is not proven, but its endpoint is still checked: resuming it must
      // not be the way to point the broker somewhere the policy refuses.
      if ('endpoint' in changes) this.proof.checkEndpoint(next);
      const suspendsOnly = line.changes.length === 1 && changes.status === 'suspended';
      if (!suspendsOnly) assertRecordPolicy(next, this.policy);
      const resumes = current.status === 'suspended' && next.status === 'active';
      const touchesAccess =
        resumes || ['secret_version', 'endpoint', 'region'].some((field) => field in changes);
      let payload: SecretPayload | undefined;
      if (
        next.auth_mode === 'static' &&
        next.secret_ref !== null &&
        ('secret_version' in changes || resumes)
      ) {
        const backend = this.proof.backend(next.secrets_backend);
        const description = await this.proof.describeUsable(backend, next.secret_ref);
        this.proof.checkPin(description, next.secret_version);
        if (touchesAccess) {
          payload = await this.proof.readPayload(
            backend,
            next.secret_ref,
            next.secret_version,
            next.provider,
          );
        }
      }
      if (touchesAccess && next.status === 'active') {
        await this.proof.proveAccess(next, payload ?? (await this.staticPayload(next)));
      }
      const record = await this.deps.registry.update(current.id, revision, changes as BucketChanges);
      this.noteMirror(line, record);
      return record;
    });
  }

  /** Starts a rotation of the bucket's secret through its configured rotation function. */
  rotate(
    idOrName: string,
    context: AdminContext,
  ): Promise<{ bucket: string; secret_ref: string; version_id: string }> {
    return this.audited('rotate', context, async (line) => {
      const record = await this.get(idOrName);
      Object.assign(line, {
        bucket: record.bucket_name,
        bucket_id: record.id,
        secret_ref: record.secret_ref,
      });
      if (record.auth_mode !== 'static' || record.secret_ref === null) {
        throw new InvalidRequestError(
          `bucket ${record.bucket_name} has no secret to rotate (auth_mode ${record.auth_mode})`,
        );
      }
      const backend = this.proof.backend(record.secrets_backend);
      const description = await backend.admin.describe(record.secret_ref);
      if (description === undefined) throw new UnknownSecretError(record.secret_ref);
      // Rotation runs only where an operator enabled it, with the interval its readers need.
      if (!description.rotationEnabled) {
        throw new RotationNotConfiguredError(
          `secret ${description.name} has no rotation enabled; enable it first (README, "Operating it: MinIO key rotation")`,
        );
      }
      const versionId = await backend.admin.rotate(description.ref);
      return { bucket: record.bucket_name, secret_ref: record.secret_ref, version_id: versionId };
    });
  }

  /** Runs the registration proof again and reports each check; a failing check is not an error. */
  validate(idOrName: string, context: AdminContext): Promise<ValidationReport> {
    return this.audited('validate', context, async (line) => {
      const record = await this.get(idOrName);
      Object.assign(line, {
        bucket: record.bucket_name,
        bucket_id: record.id,
        secret_ref: record.secret_ref,
      });
      const proven = await this.proof.run(record);
      const checks: ValidationCheck[] = [
        { name: 'record', ok: true, message: `revision ${record.revision}, ${record.status}` },
        ...proven.checks,
      ];
      const ok = checks.every((entry) => entry.ok);
      if (!ok) line.outcome = 'checks_failed';
      return { bucket: record.bucket_name, id: record.id, ok, checks };
    });
  }

  private async staticPayload(record: BucketRecord): Promise<SecretPayload | undefined> {
    if (record.auth_mode !== 'static' || record.secret_ref === null) return undefined;
    return this.proof.readPayload(
      this.proof.backend(record.secrets_backend),
      record.secret_ref,
      record.secret_version,
      record.provider,
    );
  }

  /** Deletes a secret created by a registration that failed; names it when that fails too. */
  private async discard(
    created: { backend: AdminSecretsBackend; description: SecretDescription },
    failure: unknown,
  ): Promise<unknown> {
    const { ref } = created.description;
    try {
      await created.backend.admin.remove(ref, this.deps.recoveryWindowDays ?? 7);
    } catch {
      if (failure instanceof BrokerError) {
        failure.message = `${failure.message}; the secret ${ref} created for this registration could not be deleted: delete it by hand`;
      }
    }
    return failure;
  }

  private noteMirror(line: AdminAuditLine, record: BucketRecord): void {
    const outcome = this.deps.registry.mirrorOutcome?.(record);
    if (outcome !== undefined) line.mirror = outcome;
  }

  /** The ref a new secret named `name` gets in `backend` (the name itself, unless the backend maps it). */
  private plannedRef(backend: unknown, name: string): string {
    const admin =
      typeof backend === 'string' && Object.hasOwn(this.deps.backends, backend)
        ? this.deps.backends[backend as SecretsBackend]?.admin
        : undefined;
    return admin?.refFor?.(name) ?? name;
  }

  private defaultBackend(): SecretsBackend {
    const first = Object.keys(this.deps.backends)[0] as SecretsBackend | undefined;
    if (first === undefined)
      throw new InvalidRequestError('no secrets backend is enabled', 'secrets_backend');
    return first;
  }

  /** Runs an action and writes its audit line, whatever the outcome. */
  private async audited<T>(
    action: AdminAction,
    context: AdminContext,
    run: (line: AdminAuditLine) => Promise<T>,
  ): Promise<T> {
    const started = this.now();
    const line: AdminAuditLine = {
      request_id: context.requestId,
      action,
      caller: context.caller,
      bucket: undefined,
      bucket_id: undefined,
      secret_ref: undefined,
      outcome: 'ok',
      status: 200,
      latency_ms: 0,
    };
    try {
      return await run(line);
    } catch (error) {
      line.outcome = error instanceof BrokerError ? error.code : 'internal_error';
      line.status = error instanceof BrokerError ? error.status : 500;
      throw error;
    } finally {
      line.latency_ms = Math.round((this.now() - started) * 1000) / 1000;
      this.deps.audit(line);
    }
  }
}

/** The payload written for keys handed over with `create_secret`, in the plan's shape. */
function newSecretPayload(keys: NewSecretKeys): SecretPayload {
  return Object.freeze(
    Object.fromEntries(
      Object.entries(keys).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
  );
}

/** A registration as the record it will become, for the proof before it is saved. */
function asRecord(registration: ReturnType<typeof BucketRegistrationSchema.parse>): BucketRecord {
  const timestamp = new Date().toISOString();
  return {
    ...registration,
    id: registration.id ?? crypto.randomUUID(),
    created_at: timestamp,
    updated_at: timestamp,
    revision: 1,
  };
}
