import * as z from 'zod/mini';
import { BucketRecordShapeError } from '../errors';
import { SECRETS_BACKENDS, type SecretsBackend } from '../secrets/backend-names';
import {
  GCP_SECRET_REF,
  GCP_SECRET_VERSION,
  isNormalSecretRef,
  NORMAL_SECRET_REF,
  SECRET_REF_SEGMENTS_RULE,
  VAULT_REF,
  VAULT_VERSION,
} from '../secrets/secret-ref-formats';
import { describeIssue, integerError, jsonSchemaIf, parseRequest } from '../validation';

/**
 * The bucket registry record of DESIGN.md: one schema, used by the API, the CLI, the sync job
 * and every Lambda. Only non-secret metadata lives here; credentials are referenced by
 * `secret_ref` and never stored.
 */

export const PROVIDERS = ['aws', 'gcp', 's3_compatible', 'minio', 'azure_blob'] as const;
/** The record's backend names are the secrets core's (`secrets/backend-names.ts`). */
export { SECRETS_BACKENDS, type SecretsBackend };
export const AUTH_MODES = ['role', 'static', 'workload_identity'] as const;
export const BUCKET_OPERATIONS = ['download', 'upload', 'multipart', 'list'] as const;
export const BUCKET_STATUSES = ['active', 'suspended'] as const;

export type Provider = (typeof PROVIDERS)[number];
export type AuthMode = (typeof AUTH_MODES)[number];
export type BucketOperation = (typeof BUCKET_OPERATIONS)[number];
export type BucketStatus = (typeof BUCKET_STATUSES)[number];

/** Fence's MAX_PRESIGNED_URL_TTL. */
export const DEFAULT_MAX_EXPIRES_IN = 3600;
/** SigV4 query signatures cannot live longer than seven days. */
export const SIGV4_MAX_EXPIRES_IN = 604_800;

/** S3 bucket names (3–63) and GCS names with dots (up to 222); no uppercase, no leading dot. */
export const BucketNameSchema = z
  .string()
  .check(
    z.minLength(3),
    z.maxLength(222),
    z.regex(
      /^[a-z0-9][a-z0-9._-]*[a-z0-9]$/,
      'must be lowercase letters, digits, dots, hyphens or underscores',
    ),
  );

const boundedString = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const patterned = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));

/** Field rules without defaults: the base of updates, where an absent field means "unchanged". */
const fields = {
  id: z.uuid(),
  bucket_name: BucketNameSchema,
  provider: z.enum(PROVIDERS),
  auth_mode: z.enum(AUTH_MODES),
  secrets_backend: z.nullable(z.enum(SECRETS_BACKENDS)),
  secret_ref: z.nullable(boundedString(2048).check(z.regex(NORMAL_SECRET_REF, SECRET_REF_SEGMENTS_RULE))),
  secret_version: z.nullable(boundedString(256)),
  role_arn: z.nullable(
    patterned(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN'),
  ),
  external_id: z.nullable(
    patterned(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2–1224 characters of [A-Za-z0-9+=,.@:/_-]'),
  ),
  gcp_service_account: z.nullable(z.email()),
  kms_key_ref: z.nullable(boundedString(2048)),
  // The shape every store endpoint has; where it may point is the deployment's store-endpoint
  // policy (network/), checked where records are accepted and at connect time.
  endpoint: z.nullable(
    z.url({ protocol: /^https?$/ }).check(
      z.refine((text) => {
        const url = URL.canParse(text) ? new URL(text) : undefined;
        return url !== undefined && url.username === '' && url.password === '' && !/[?#]/.test(url.href);
      }, 'must not carry userinfo, a query or a fragment'),
    ),
  ),
  region: z.nullable(patterned(/^[a-z0-9-]{2,32}$/, 'must be a region name such as us-east-1')),
  allowed_ops: z
    .array(z.enum(BUCKET_OPERATIONS))
    .check(
      z.minLength(1),
      z.refine((ops) => new Set(ops).size === ops.length, 'must not repeat an operation'),
    )
    // The refinement as the OpenAPI document states it.
    .register(z.globalRegistry, { uniqueItems: true }),
  max_expires_in: z.int({ error: integerError }).check(z.minimum(1), z.maximum(SIGV4_MAX_EXPIRES_IN)),
  status: z.enum(BUCKET_STATUSES),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  revision: z.int({ error: integerError }).check(z.minimum(1)),
};

/** Where a registration or an older stored record leaves a field out, it takes these values. */
const recordShape = {
  ...fields,
  secrets_backend: z._default(fields.secrets_backend, null),
  secret_ref: z._default(fields.secret_ref, null),
  secret_version: z._default(fields.secret_version, null),
  role_arn: z._default(fields.role_arn, null),
  external_id: z._default(fields.external_id, null),
  gcp_service_account: z._default(fields.gcp_service_account, null),
  kms_key_ref: z._default(fields.kms_key_ref, null),
  endpoint: z._default(fields.endpoint, null),
  region: z._default(fields.region, null),
  max_expires_in: z._default(fields.max_expires_in, DEFAULT_MAX_EXPIRES_IN),
  status: z._default(fields.status, 'active' as const),
};

type ModeFields = {
  provider: Provider;
  auth_mode: AuthMode;
  secrets_backend: SecretsBackend | null;
  secret_ref: string | null;
  secret_version: string | null;
  role_arn: string | null;
  gcp_service_account: string | null;
  endpoint: string | null;
};

/** The rules that tie fields together: each auth mode needs its own fields and no others. */
function checkModeFields(record: ModeFields, ctx: z.core.$RefinementCtx<ModeFields>): void {
  const issue = (path: keyof ModeFields, message: string) =>
    ctx.addIssue({ code: 'custom', path: [path], message });
  if (record.provider === 'azure_blob') issue('provider', 'azure_blob is reserved and not supported yet');
  if (record.secret_version !== null && record.secret_ref === null) {
    issue('secret_version', 'a version pin needs a secret_ref');
  }
  switch (record.auth_mode) {
    case 'static':
      if (record.secrets_backend === null) issue('secrets_backend', 'is required when auth_mode is static');
      if (record.secret_ref === null) issue('secret_ref', 'is required when auth_mode is static');
      if (record.role_arn !== null) issue('role_arn', 'must be null when auth_mode is static');
      break;
    case 'role':
      if (record.provider !== 'aws') issue('auth_mode', 'role is only for provider aws');
      if (record.role_arn === null) issue('role_arn', 'is required when auth_mode is role');
      if (record.secrets_backend !== null) issue('secrets_backend', 'must be null when auth_mode is role');
      if (record.secret_ref !== null) issue('secret_ref', 'must be null when auth_mode is role');
      break;
    case 'workload_identity':
      if (record.provider !== 'gcp') issue('auth_mode', 'workload_identity is only for provider gcp');
      if (record.gcp_service_account === null) {
        issue('gcp_service_account', 'is required when auth_mode is workload_identity');
      }
      if (record.secret_ref !== null) issue('secret_ref', 'must be null when auth_mode is workload_identity');
      break;
  }
  if (record.auth_mode === 'workload_identity' && record.secrets_backend !== null) {
    issue('secrets_backend', 'must be null when auth_mode is workload_identity');
  }
  checkSecretRefFormat(record, issue);
  if ((record.provider === 'minio' || record.provider === 's3_compatible') && record.endpoint === null) {
    issue('endpoint', `is required for provider ${record.provider}`);
  }
}

/** Refs and pins each backend can parse: a record the backend would refuse is refused on write. */
function checkSecretRefFormat(
  record: ModeFields,
  issue: (path: keyof ModeFields, message: string) => void,
): void {
  if (record.secret_ref === null) return;
  if (!isNormalSecretRef(record.secret_ref)) {
    issue('secret_ref', SECRET_REF_SEGMENTS_RULE);
    return;
  }
  switch (record.secrets_backend) {
    case 'vault':
      if (!VAULT_REF.test(record.secret_ref)) {
        issue(
          'secret_ref',
          'must be <mount>/<path> for the vault backend, e.g. secret/gen3/fence/minio/bucket',
        );
      }
      if (record.secret_version !== null && !VAULT_VERSION.test(record.secret_version)) {
        issue('secret_version', 'must be a KV v2 version number (1, 2, …) for the vault backend');
      }
      break;
    case 'gcp_sm':
      if (!GCP_SECRET_REF.test(record.secret_ref)) {
        issue('secret_ref', 'must be projects/<project>/secrets/<secret> for the gcp_sm backend');
      }
      if (record.secret_version !== null && !GCP_SECRET_VERSION.test(record.secret_version)) {
        issue('secret_version', 'must be a version number (1, 2, …) or latest for the gcp_sm backend');
      }
      break;
  }
}

/** A field that is absent or null (JSON Schema; the record's defaults make the two the same). */
const absentOrNull = (field: keyof ModeFields) => ({ properties: { [field]: { type: 'null' } } });
/** A field that is present and not null (JSON Schema). */
const given = (field: keyof ModeFields) => ({
  required: [field],
  properties: { [field]: { not: { type: 'null' } } },
});
/** A field that equals `value` (JSON Schema, for `if`). */
const equals = (field: keyof ModeFields, value: string) => ({
  required: [field],
  properties: { [field]: { const: value } },
});

/**
 * `checkModeFields` as JSON Schema keywords for the OpenAPI document, which zod cannot derive from
 * a refinement. Each entry is one rule of it; `test/unit/registry/mode-rules.test.ts` holds the two
 * equal on generated records. The static mode's need of a secret is apart (`STATIC_SECRET_RULE`):
 * a registration with `create_secret` has the broker name it.
 */
export const MODE_RULES_JSON_SCHEMA: readonly Record<string, unknown>[] = [
  { not: equals('provider', 'azure_blob'), description: 'azure_blob is reserved and not supported yet' },
  {
    ...jsonSchemaIf(given('secret_version'), given('secret_ref')),
    description: 'a version pin needs a secret_ref',
  },
  jsonSchemaIf(equals('auth_mode', 'static'), absentOrNull('role_arn')),
  jsonSchemaIf(equals('auth_mode', 'role'), {
    allOf: [
      { properties: { provider: { const: 'aws' } } },
      given('role_arn'),
      absentOrNull('secrets_backend'),
      absentOrNull('secret_ref'),
    ],
  }),
  jsonSchemaIf(equals('auth_mode', 'workload_identity'), {
    allOf: [
      { properties: { provider: { const: 'gcp' } } },
      given('gcp_service_account'),
      absentOrNull('secrets_backend'),
      absentOrNull('secret_ref'),
    ],
  }),
  jsonSchemaIf(
    { required: ['provider'], properties: { provider: { enum: ['minio', 's3_compatible'] } } },
    given('endpoint'),
  ),
  jsonSchemaIf(equals('secrets_backend', 'vault'), {
    properties: {
      secret_ref: { pattern: VAULT_REF.source },
      secret_version: { pattern: VAULT_VERSION.source },
    },
  }),
  jsonSchemaIf(equals('secrets_backend', 'gcp_sm'), {
    properties: {
      secret_ref: { pattern: GCP_SECRET_REF.source },
      secret_version: { pattern: GCP_SECRET_VERSION.source },
    },
  }),
];

/** Static mode reads its credentials from a secret: a backend and a ref (JSON Schema). */
export const STATIC_SECRET_RULE: Record<string, unknown> = jsonSchemaIf(equals('auth_mode', 'static'), {
  allOf: [given('secrets_backend'), given('secret_ref')],
});

const RecordObject = z.strictObject(recordShape);
const modeRules = z.superRefine(checkModeFields);

/** A registry record, as admin writes must produce it: unknown fields are refused. */
export const BucketRecordSchema = RecordObject.check(modeRules);
export type BucketRecord = z.infer<typeof BucketRecordSchema>;

/**
 * A record as read back from storage: the same rules, but attributes this release does not know
 * are dropped rather than refused, so a harmless extra attribute (a newer writer, a hand edit)
 * never takes a bucket down.
 */
const StoredRecordSchema = z.object(recordShape).check(modeRules);

/**
 * Reads a stored record. A record that breaks the schema is the operator's to fix, not the
 * caller's: it raises `BucketRecordShapeError` (502 `bucket_misconfigured`) naming the bucket
 * and the field, never the value.
 */
export function readStoredRecord(raw: unknown, bucketName?: string): BucketRecord {
  const result = StoredRecordSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const stored = (raw as { bucket_name?: unknown } | null)?.bucket_name;
  const name = bucketName ?? (typeof stored === 'string' ? stored.slice(0, 222) : '(no name)');
  throw new BucketRecordShapeError(
    name,
    issue?.path.length ? issue.path.map(String).join('.') : undefined,
    issue ? describeIssue(issue, raw) : 'is invalid',
  );
}

/** What an admin (or the sync job) supplies to create a record; the registry fills in the rest. Built on first use (admin paths). */
export const BucketRegistrationSchema = z.lazy(() =>
  z
    .extend(z.omit(RecordObject, { created_at: true, updated_at: true, revision: true }), {
      id: z.optional(fields.id),
    })
    .check(modeRules),
);
export type BucketRegistration = z.input<typeof BucketRegistrationSchema>;

/** Fields an update may change. Name, id and creation time never change. */
export const BucketChangesSchema = z.lazy(() =>
  z.partial(
    z.omit(z.strictObject(fields), {
      id: true,
      bucket_name: true,
      created_at: true,
      updated_at: true,
      revision: true,
    }),
  ),
);
export type BucketChanges = z.input<typeof BucketChangesSchema>;

/** Applies `changes` to `record` and checks the result as a whole, as a stored record must be. */
export function applyBucketChanges(record: BucketRecord, changes: BucketChanges, now: Date): BucketRecord {
  return parseRequest(BucketRecordSchema, {
    ...record,
    ...BucketChangesSchema.parse(changes),
    updated_at: now.toISOString(),
    revision: record.revision + 1,
  });
}

/** A new stored record from a registration: id (unless given), timestamps, revision 1. */
export function newBucketRecord(registration: BucketRegistration, now: Date): BucketRecord {
  const parsed = parseRequest(BucketRegistrationSchema, registration);
  const timestamp = now.toISOString();
  return parseRequest(BucketRecordSchema, {
    ...parsed,
    id: parsed.id ?? crypto.randomUUID(),
    created_at: timestamp,
    updated_at: timestamp,
    revision: 1,
  });
}
