import type { AssumedRoleCredentials } from '../credentials/assumed-role-credentials';
import type { WorkloadIdentitySigners } from '../credentials/bucket-credentials';
import {
  BrokerError,
  InvalidRequestError,
  InvalidSecretError,
  SecretNotFoundError,
  SecretShapeError,
  StoreUnreachableError,
  storeText,
  UnknownSecretError,
} from '../errors';
import { type StoreEndpointPolicy, storeEndpointPolicy } from '../network/store-endpoint-policy';
import { type ProbeCredentials, probeBucketAccess, unreachableReason } from '../probes/bucket-access-probe';
import { probeGcsBucketAccess } from '../probes/gcs-bucket-probe';
import type { BucketRecord, Provider, SecretsBackend } from '../registry/bucket-record';
import { secretNameViolation } from '../registry/record-policy';
import type { SecretDescription } from '../secrets/secret-administration';
import type { SecretPayload } from '../secrets/secret-resolver';
import { serviceAccountKeyFrom, staticCredentialsFrom } from '../secrets/secret-shapes';
import type { AdminSecretsBackend } from '../secrets/secrets-backend';
import { type GcsSigner, ServiceAccountKeySigner } from '../signing/gcs-v4-presigner';

export type { AdminSecretsBackend };

/** What proving a bucket needs: the backends, role mode's AssumeRole, the prefix, the store probe. */
export interface BucketProofDependencies {
  /** The backends this deployment runs; records naming another are refused. */
  backends: Partial<Record<SecretsBackend, AdminSecretsBackend>>;
  /** Role mode's proof: AssumeRole with the record's external id. */
  roles: Pick<AssumedRoleCredentials, 'get'>;
  /** Every secret the broker uses lives under this name prefix (and outside its admin sub-path). */
  secretsPrefix: string;
  /** Proves credentials on a bucket. @default probeBucketAccess */
  probe?: (record: BucketRecord, credentials: ProbeCredentials) => Promise<void>;
  /** Proves a signer on a GCS bucket (provider gcp). @default probeGcsBucketAccess */
  gcsProbe?: (record: BucketRecord, signer: GcsSigner) => Promise<void>;
  /** Signs as GCP service accounts (workload identity); absent without a Google identity. */
  workloadIdentity?: WorkloadIdentitySigners;
  /**
   * Where a record's endpoint may point, checked before any secret is read or request sent, and
   * by the default probes at connect time. @default the process's (`STORE_ENDPOINT_…` variables)
   */
  endpointPolicy?: StoreEndpointPolicy;
}

/** Checks of the registration proof. Messages name refs and fields, never values. */
export type ProofCheckName = 'endpoint' | 'secret' | 'secret_shape' | 'secret_pin' | 'bucket_access';

/** One check of a report. */
export interface ProofCheck<Name extends string = ProofCheckName> {
  name: Name;
  ok: boolean;
  message: string;
}

/** How a caller runs the proof's checks. */
export interface ProofOptions {
  /**
   * Runs one check's work, e.g. under a timeout. @default the work as it is
   */
  guard?: <T>(name: ProofCheckName, work: () => Promise<T>) => Promise<T>;
  /**
   * What an error that is not a `BrokerError` (a bug, an unmapped SDK error) does: propagate
   * (`throw`, the admin API answers 500) or fail the check with the error's name and message
   * (`fail`, the drift check: one bucket never stops the run). @default 'throw'
   */
  unexpected?: 'throw' | 'fail';
}

/** The proof's verdicts, and what it read on the way (for further checks of the same secret). */
export interface BucketProofResult {
  checks: ProofCheck[];
  /** Set when the record's secret was found under the prefix. */
  secret?: {
    backend: AdminSecretsBackend;
    description: SecretDescription;
    /** The payload at the record's pin (or AWSCURRENT), when it had its provider's credential shape. */
    payload?: SecretPayload;
  };
}

const AWS_STAGES = new Set(['AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING']);

/**
 * The registration proof (DESIGN.md "Admin API and CLI"), in one place for the admin core's
 * register, patch and validate and for the drift check: the secret exists under the prefix, a
 * pin names a version or label that exists (a custom label on a rotated secret), the payload has
 * the shape of its provider's credentials, and the credentials can see the bucket; in role mode,
 * AssumeRole with the external id, then the same probe; in workload-identity mode (GCS), a URL
 * signed as the record's service account.
 */
export class BucketProof {
  private readonly probe: (record: BucketRecord, credentials: ProbeCredentials) => Promise<void>;
  private readonly gcsProbe: (record: BucketRecord, signer: GcsSigner) => Promise<void>;
  private readonly endpointPolicy: StoreEndpointPolicy;

  constructor(private readonly deps: BucketProofDependencies) {
    const policy = deps.endpointPolicy ?? storeEndpointPolicy();
    this.endpointPolicy = policy;
    this.probe = deps.probe ?? ((record, credentials) => probeBucketAccess(record, credentials, { policy }));
    this.gcsProbe = deps.gcsProbe ?? ((record, signer) => probeGcsBucketAccess(record, signer, { policy }));
  }

  /**
   * The record's endpoint is one this deployment's store-endpoint policy allows (400
   * `endpoint_not_allowed` naming `endpoint` otherwise). A record without one goes to its
   * provider's own endpoint.
   */
  checkEndpoint(record: Pick<BucketRecord, 'endpoint'>): void {
    if (record.endpoint !== null) this.endpointPolicy.checkEndpoint(record.endpoint);
  }

  /** Runs every check that applies to the record; a failing check is a verdict, not an error. */
  async run(record: BucketRecord, options: ProofOptions = {}): Promise<BucketProofResult> {
    const checks: ProofCheck[] = [];
    const guard = options.guard ?? ((_name, work) => work());
    const check = async (name: ProofCheckName, work: () => Promise<string>): Promise<boolean> => {
      try {
        checks.push({ name, ok: true, message: await guard(name, work) });
        return true;
      } catch (error) {
        if (error instanceof BrokerError) {
          checks.push({ name, ok: false, message: `${error.code}: ${error.message}` });
          return false;
        }
        if (options.unexpected !== 'fail') throw error;
        checks.push({ name, ok: false, message: describeUnexpected(error) });
        return false;
      }
    };
    const result: BucketProofResult = { checks };
    // First, so a refused endpoint costs no secret read and sends no request. Reported only
    // when it fails: a record without an endpoint has nothing to check.
    try {
      this.checkEndpoint(record);
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      checks.push({ name: 'endpoint', ok: false, message: `${error.code}: ${error.message}` });
      return result;
    }
    if (record.auth_mode === 'static' && record.secret_ref !== null) {
      const ref = record.secret_ref;
      let backend: AdminSecretsBackend | undefined;
      let description: SecretDescription | undefined;
      const found = await check('secret', async () => {
        backend = this.backend(record.secrets_backend);
        description = await this.describeUsable(backend, ref);
        return `${description.name} exists under ${this.deps.secretsPrefix}`;
      });
      if (!found || backend === undefined || description === undefined) return result;
      const secret: NonNullable<BucketProofResult['secret']> = { backend, description };
      result.secret = secret;
      if (record.secret_version !== null) {
        const known = description;
        await check('secret_pin', async () => {
          this.checkPin(known, record.secret_version);
          return `pinned to ${record.secret_version}`;
        });
      }
      const shaped = await check('secret_shape', async () => {
        secret.payload = await this.readPayload(secret.backend, ref, record.secret_version, record.provider);
        return record.provider === 'gcp'
          ? 'holds a service-account key (service_account_key_json)'
          : 'holds access_key_id and secret_access_key';
      });
      if (shaped) {
        await check('bucket_access', async () => {
          await this.proveAccess(record, secret.payload);
          return `the credentials can see bucket ${record.bucket_name}`;
        });
      }
    } else if (record.auth_mode === 'role') {
      await check('bucket_access', async () => {
        await this.proveAccess(record, undefined);
        return `assumed ${record.role_arn} and saw bucket ${record.bucket_name}`;
      });
    } else {
      await check('bucket_access', async () => {
        await this.proveAccess(record, undefined);
        return `signed as ${record.gcp_service_account} and saw bucket ${record.bucket_name}`;
      });
    }
    return result;
  }

  /**
   * Proves the credentials on the bucket: the store's answer to a signed HEAD of it. An endpoint
   * the operator gave that cannot be reached is their input to fix (400 `store_unreachable`
   * naming `endpoint`); the provider's own endpoint failing stays an outage (503).
   */
  async proveAccess(record: BucketRecord, payload: SecretPayload | undefined): Promise<void> {
    try {
      await this.probeRecord(record, payload);
    } catch (error) {
      const reason = record.endpoint === null ? undefined : unreachableReason(error);
      if (reason === undefined) throw error;
      throw new StoreUnreachableError(
        `the store endpoint of bucket ${record.bucket_name} could not be reached: ${reason}; check endpoint`,
        { cause: error },
      );
    }
  }

  private async probeRecord(record: BucketRecord, payload: SecretPayload | undefined): Promise<void> {
    this.checkEndpoint(record);
    switch (record.auth_mode) {
      case 'static': {
        if (payload === undefined || record.secret_ref === null) {
          throw new InvalidRequestError(`bucket ${record.bucket_name} has no secret to prove`, 'secret_ref');
        }
        if (record.provider === 'gcp') {
          await this.gcsProbe(
            record,
            new ServiceAccountKeySigner(serviceAccountKeyFrom(record.secret_ref, payload)),
          );
          return;
        }
        const keys = staticCredentialsFrom(record.secret_ref, payload);
        await this.probe(record, {
          accessKeyId: keys.access_key_id,
          secretAccessKey: keys.secret_access_key,
          ...(keys.session_token === undefined ? {} : { sessionToken: keys.session_token }),
          ...(keys.ca_bundle_pem === undefined ? {} : { caBundlePem: keys.ca_bundle_pem }),
          ...(keys.client_cert_pem === undefined ? {} : { clientCertPem: keys.client_cert_pem }),
          ...(keys.client_key_pem === undefined ? {} : { clientKeyPem: keys.client_key_pem }),
        });
        return;
      }
      case 'role': {
        const assumed = await this.deps.roles.get({
          roleArn: String(record.role_arn),
          externalId: record.external_id,
          minRemainingMs: 60_000,
          requestId: `validate-${record.bucket_name}`.slice(0, 40),
        });
        await this.probe(record, assumed.credentials);
        return;
      }
      case 'workload_identity': {
        if (this.deps.workloadIdentity === undefined) {
          throw new InvalidRequestError(
            'this deployment has no Google identity to sign with (GOOGLE_APPLICATION_CREDENTIALS)',
            'auth_mode',
          );
        }
        await this.gcsProbe(record, this.deps.workloadIdentity.signerFor(String(record.gcp_service_account)));
        return;
      }
    }
  }

  /** The secret exists, sits under the prefix and outside its admin sub-path. */
  async describeUsable(backend: AdminSecretsBackend, ref: string): Promise<SecretDescription> {
    const description = await backend.admin.describe(ref);
    if (description === undefined) throw new UnknownSecretError(ref);
    this.checkPrefix(description.name, 'secret_ref');
    return description;
  }

  /**
   * The secret's name holds the record rules' name rules (`registry/record-policy.ts`: under the
   * prefix, outside its admin sub-path, already normalized). Here `name` is the backend's own
   * answer (`describe`), which for AWS resolves a partial ARN the ref alone does not.
   */
  checkPrefix(name: string, field: string): void {
    const violation = secretNameViolation(name, this.deps.secretsPrefix, field);
    if (violation !== undefined) throw new InvalidSecretError(violation.message);
  }

  /**
   * A pin names an existing version id or staging label. On a rotated secret only a custom
   * label is allowed: rotation keeps the keys of custom-labelled versions, and retires the rest.
   */
  checkPin(description: SecretDescription, pin: string | null): void {
    if (pin === null) return;
    const exists = description.versions.some((version) => version.id === pin || version.stages.includes(pin));
    if (!exists) {
      throw new InvalidSecretError(
        `secret ${description.name} has no version or label ${pin} (secret_version)`,
      );
    }
    const isVersionId = description.versions.some((version) => version.id === pin);
    if (description.rotationEnabled && (isVersionId || (AWS_STAGES.has(pin) && pin !== 'AWSCURRENT'))) {
      throw new InvalidSecretError(
        `secret ${description.name} rotates: pin it by a custom staging label, not ${isVersionId ? 'a version id' : pin}, so rotation keeps its key (secret_version)`,
      );
    }
  }

  /** The payload, read fresh from the backend; missing or mis-shaped secrets are the admin's input errors. */
  async readPayload(
    backend: AdminSecretsBackend,
    ref: string,
    version: string | null,
    provider: Provider,
  ): Promise<SecretPayload> {
    let payload: SecretPayload;
    try {
      payload = await backend.read.get(ref, version);
    } catch (error) {
      if (error instanceof SecretNotFoundError) throw new UnknownSecretError(ref, { cause: error });
      if (error instanceof SecretShapeError) throw new InvalidSecretError(error.message, { cause: error });
      throw error;
    }
    this.checkShape(ref, payload, provider);
    return payload;
  }

  /**
   * The payload has the shape of its provider's credentials (`secret-shapes.ts`, the rules the
   * presign path reads it by): an `InvalidSecretError` naming the ref and the field, never a value.
   */
  checkShape(ref: string, payload: SecretPayload, provider: Provider): void {
    try {
      if (provider === 'gcp') serviceAccountKeyFrom(ref, payload);
      else staticCredentialsFrom(ref, payload);
    } catch (error) {
      if (error instanceof SecretShapeError) throw new InvalidSecretError(error.message, { cause: error });
      throw error;
    }
  }

  backend(name: SecretsBackend | null | undefined): AdminSecretsBackend {
    const backend = name === null || name === undefined ? undefined : this.deps.backends[name];
    if (backend === undefined) {
      throw new InvalidRequestError(
        `secrets backend ${String(name)} is not enabled in this deployment`,
        'secrets_backend',
      );
    }
    return backend;
  }
}

/** An error that is not one of ours, as a check's message: its name and a bounded message. */
export function describeUnexpected(error: unknown): string {
  if (!(error instanceof Error)) return 'unexpected error';
  // Such a message may quote a store's answer: bounded and without control characters.
  return storeText(`${error.name}: ${error.message}`, 300);
}
