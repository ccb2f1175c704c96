import * as z from 'zod/mini';
import { BrokerError, InvalidRequestError, InvalidSecretError, RecordPolicyError } from '../errors';
import type { StoreEndpointPolicy } from '../network/store-endpoint-policy';
import { ADMIN_SECRETS_SUBPATH } from '../secrets/secret-paths';
import {
  isNormalSecretRef,
  normalizeSecretRef,
  SECRET_REF_SEGMENTS_RULE,
  secretNameOfRef,
} from '../secrets/secret-ref-formats';
import { COMMON_SECRETS_ENVIRONMENT } from '../secrets/secrets-backend';
import { type BucketRecord, DEFAULT_MAX_EXPIRES_IN, SIGV4_MAX_EXPIRES_IN } from './bucket-record';

/**
 * The deployment's rules for a bucket record, beyond its schema: in ONE place, because every
 * path that writes or serves a record must hold them (DESIGN.md "Untrusted input from trusted
 * people"). The admin core applies them before it saves, the sync before it mirrors a Fence DB
 * row (a Fence DB writer is not an admin), presign again before it reads a secret (a mirror item
 * written by hand, or before these rules existed).
 *
 * Only what the record itself states is checked here: whether the secret exists, a pin names a
 * real version, or a rotated secret is pinned by a custom label needs the backend, which only
 * the admin core's proof (`admin/bucket-proof.ts`) and the drift check ask.
 */

/** What the rules depend on: the deployment's settings. */
export interface RecordPolicy {
  /** Every secret a bucket uses lives under this name prefix (`FENCE_SECRETS_PREFIX`). */
  secretsPrefix: string;
  /** No bucket's URLs live longer than this, in seconds (`MAX_URL_LIFETIME_SECONDS`). */
  maxExpiresInCap: number;
  /**
   * Where a record's `endpoint` may point (`network/store-endpoint-policy.ts`, the URL alone:
   * scheme, userinfo, query, an address literal). The sync passes it; the admin core checks the
   * endpoint itself, with its own answer, and presign's store calls check every address at
   * connect time. @default not checked here
   */
  endpoints?: Pick<StoreEndpointPolicy, 'checkEndpoint'>;
}

/** The deployment defaults: the prefix `gen3/fence/`, and Fence's own hour. */
export const DEFAULT_RECORD_POLICY: RecordPolicy = Object.freeze({
  secretsPrefix: 'gen3/fence/',
  maxExpiresInCap: DEFAULT_MAX_EXPIRES_IN,
});

/**
 * The rules' settings in each environment that applies them (admin, presign, sync), so the CDK
 * construct of each passes the same values and a function without them cannot start.
 */
export const RECORD_POLICY_ENVIRONMENT = {
  FENCE_SECRETS_PREFIX: COMMON_SECRETS_ENVIRONMENT.FENCE_SECRETS_PREFIX,
  MAX_URL_LIFETIME_SECONDS: z
    ._default(
      z.coerce.number().check(z.int(), z.minimum(1), z.maximum(SIGV4_MAX_EXPIRES_IN)),
      DEFAULT_MAX_EXPIRES_IN,
    )
    .check(
      z.describe(
        "The deployment's cap on any bucket's `max_expires_in` (seconds; CDK context `maxUrlLifetimeSeconds`): registrations above it are refused, the sync reports rows above it, presign never signs longer. At most 7 days, SigV4's own limit.",
      ),
    ),
};

/** The policy an environment that holds `RECORD_POLICY_ENVIRONMENT` states. */
export function recordPolicyFrom(environment: {
  FENCE_SECRETS_PREFIX: string;
  MAX_URL_LIFETIME_SECONDS: number;
}): RecordPolicy {
  return {
    secretsPrefix: environment.FENCE_SECRETS_PREFIX,
    maxExpiresInCap: environment.MAX_URL_LIFETIME_SECONDS,
  };
}

/** The stable name of each rule (reported by the sync, carried by `RecordPolicyError`). */
export const RECORD_POLICY_RULES = [
  'secret_outside_prefix',
  'secret_under_admin_path',
  'secret_ref_not_normal',
  'secret_pin_pending',
  'max_expires_in_above_cap',
  'endpoint_not_allowed',
] as const;
export type RecordPolicyRule = (typeof RECORD_POLICY_RULES)[number];

/** One broken rule: the field and why, never the field's value beyond the secret's name. */
export interface RecordPolicyViolation {
  rule: RecordPolicyRule;
  field: 'secret_ref' | 'secret_version' | 'max_expires_in' | 'endpoint';
  message: string;
}

/** Rules about which secret a bucket reads: the ones presign refuses to serve. */
export const SECRET_RULES: ReadonlySet<RecordPolicyRule> = new Set([
  'secret_outside_prefix',
  'secret_under_admin_path',
  'secret_ref_not_normal',
  'secret_pin_pending',
]);

/**
 * A secret name's violation, if any: outside the prefix, under its admin sub-path (the MinIO
 * admin keys), or not already normalized. The normalized name is what is compared (what a
 * path-based backend reads), so `gen3/fence/x/../admin/m` is the admin key it names.
 */
export function secretNameViolation(
  name: string,
  prefix: string,
  field = 'secret_ref',
): RecordPolicyViolation | undefined {
  const normalized = normalizeSecretRef(name);
  if (!normalized.startsWith(prefix)) {
    return {
      rule: 'secret_outside_prefix',
      field: 'secret_ref',
      message: `secret ${name} is outside ${prefix}; the presign role can read only that prefix (${field})`,
    };
  }
  if (normalized.startsWith(`${prefix}${ADMIN_SECRETS_SUBPATH}`)) {
    return {
      rule: 'secret_under_admin_path',
      field: 'secret_ref',
      message: `secret ${name} is under ${prefix}${ADMIN_SECRETS_SUBPATH}, which holds admin credentials and is denied to the presign role (${field})`,
    };
  }
  if (!isNormalSecretRef(name)) {
    return {
      rule: 'secret_ref_not_normal',
      field: 'secret_ref',
      message: `secret ${name} ${SECRET_REF_SEGMENTS_RULE} (${field})`,
    };
  }
  return undefined;
}

/** The fields the rules read. */
export type PolicedRecord = Pick<
  BucketRecord,
  'auth_mode' | 'secrets_backend' | 'secret_ref' | 'secret_version' | 'max_expires_in'
> &
  Partial<Pick<BucketRecord, 'endpoint'>>;

/** Every rule `record` breaks under `policy`, in a fixed order; empty when it holds them all. */
export function recordPolicyViolations(record: PolicedRecord, policy: RecordPolicy): RecordPolicyViolation[] {
  const violations: RecordPolicyViolation[] = [];
  if (record.secret_ref !== null) {
    // A ref without a backend (a malformed record) is checked as a name: it fails closed.
    const name =
      record.secrets_backend === null
        ? record.secret_ref
        : secretNameOfRef(record.secrets_backend, record.secret_ref);
    const named = secretNameViolation(name, policy.secretsPrefix);
    if (named !== undefined) violations.push(named);
    else if (name !== record.secret_ref && !isNormalSecretRef(record.secret_ref)) {
      violations.push({
        rule: 'secret_ref_not_normal',
        field: 'secret_ref',
        message: `secret ${record.secret_ref} ${SECRET_REF_SEGMENTS_RULE} (secret_ref)`,
      });
    }
  }
  // AWSPENDING is the key rotation's createSecret wrote and has not yet proven on the store.
  if (record.secrets_backend === 'aws_sm' && record.secret_version === 'AWSPENDING') {
    violations.push({
      rule: 'secret_pin_pending',
      field: 'secret_version',
      message:
        'a bucket must not be pinned to AWSPENDING, a key rotation has not yet proven (secret_version)',
    });
  }
  if (record.max_expires_in > policy.maxExpiresInCap) {
    violations.push({
      rule: 'max_expires_in_above_cap',
      field: 'max_expires_in',
      message: `max_expires_in ${record.max_expires_in} is above this deployment's cap of ${policy.maxExpiresInCap} seconds (max_expires_in)`,
    });
  }
  if (policy.endpoints !== undefined && record.endpoint !== undefined && record.endpoint !== null) {
    try {
      policy.endpoints.checkEndpoint(record.endpoint);
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      violations.push({
        rule: 'endpoint_not_allowed',
        field: 'endpoint',
        message: `${error.message} (endpoint)`,
      });
    }
  }
  return violations;
}

/**
 * The admin API's answer to the first broken rule: a secret rule is `invalid_secret` (400), the
 * cap `invalid_request` (400) naming the field, as the admin core answered before the rules
 * moved here.
 */
export function adminPolicyError(violation: RecordPolicyViolation): InvalidSecretError | InvalidRequestError {
  return violation.field === 'max_expires_in' || violation.field === 'endpoint'
    ? new InvalidRequestError(violation.message, violation.field)
    : new InvalidSecretError(violation.message);
}

/** Throws the admin answer to the first rule `record` breaks. */
export function assertRecordPolicy(record: PolicedRecord, policy: RecordPolicy): void {
  const [first] = recordPolicyViolations(record, policy);
  if (first !== undefined) throw adminPolicyError(first);
}

/**
 * Presign's check, on every request: a record whose secret breaks a rule is not served (a
 * `RecordPolicyError`, 502 `bucket_misconfigured`: an operator must fix the record). Its
 * `max_expires_in` above the cap is not refused but clamped by the caller.
 */
export function assertServablePolicy(
  record: PolicedRecord & { bucket_name: string },
  policy: RecordPolicy,
): void {
  const violation = recordPolicyViolations(record, policy).find((entry) => SECRET_RULES.has(entry.rule));
  if (violation !== undefined)
    throw new RecordPolicyError(record.bucket_name, violation.rule, violation.field);
}
