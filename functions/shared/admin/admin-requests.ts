import * as z from 'zod/mini';
import {
  BUCKET_STATUSES,
  BucketChangesSchema,
  type BucketRegistrationSchema,
  PROVIDERS,
} from '../registry/bucket-record';

/**
 * The admin API's request bodies (DESIGN.md, "Admin API and CLI"), shared by the admin Lambda,
 * the CLI, the local runner and the OpenAPI document. Built on first use: the presign function
 * never loads them.
 */

const secretText = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

/**
 * Keys an operator hands over once, with `create_secret: true`: the plan's S3 static shape. They
 * are written to the secrets manager at once and never kept, logged or returned.
 */
export const NewSecretKeysSchema = z.lazy(() =>
  z.union([
    z.strictObject({
      access_key_id: secretText(256),
      secret_access_key: secretText(1024),
      session_token: z.optional(secretText(4096)),
      ca_bundle_pem: z.optional(secretText(65_536)),
      client_cert_pem: z.optional(secretText(65_536)),
      client_key_pem: z.optional(secretText(65_536)),
    }),
    // GCP buckets (static mode): a service-account key file's JSON.
    z.strictObject({ service_account_key_json: secretText(65_536) }),
  ]),
);
export type NewSecretKeys = z.infer<typeof NewSecretKeysSchema>;

/** What a registration adds to the record's own fields. */
export const RegistrationOptionsSchema = z.lazy(() =>
  z.object({
    create_secret: z.optional(z.boolean()),
    secret: z.optional(NewSecretKeysSchema),
  }),
);

/** `POST /v1/admin/buckets`: a registration (`BucketRegistrationSchema`) plus the options above. */
export type RegisterBucketRequest = z.input<typeof BucketRegistrationSchema> & {
  create_secret?: boolean;
  secret?: NewSecretKeys;
};

/** Fields an admin may change with `PATCH /v1/admin/buckets/{id}`; identity and auth mode never change. */
export const PATCHABLE_FIELDS = [
  'secret_version',
  'status',
  'endpoint',
  'region',
  'allowed_ops',
  'max_expires_in',
  'kms_key_ref',
] as const;

export const PatchBucketRequestSchema = z.lazy(() =>
  z.strictObject({
    /** The revision the change was based on (optimistic concurrency). */
    revision: z.int().check(z.minimum(1)),
    ...z.pick(BucketChangesSchema._zod.innerType, {
      secret_version: true,
      status: true,
      endpoint: true,
      region: true,
      allowed_ops: true,
      max_expires_in: true,
      kms_key_ref: true,
    }).shape,
  }),
);
export type PatchBucketRequest = z.infer<typeof PatchBucketRequestSchema>;

export const ListBucketsQuerySchema = z.lazy(() =>
  z.strictObject({
    limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000))),
    cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
    status: z.optional(z.enum(BUCKET_STATUSES)),
    provider: z.optional(z.enum(PROVIDERS)),
  }),
);
export type ListBucketsQuery = z.infer<typeof ListBucketsQuerySchema>;
