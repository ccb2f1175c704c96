import * as z from 'zod/mini';
import {
  ListBucketsQuerySchema,
  NewSecretKeysSchema,
  PatchBucketRequestSchema,
} from '../shared/admin/admin-requests';
import type { ErrorCode } from '../shared/errors';
import {
  BucketRecordSchema,
  BucketRegistrationSchema,
  MODE_RULES_JSON_SCHEMA,
  STATIC_SECRET_RULE,
} from '../shared/registry/bucket-record';
import { jsonSchemaIf } from '../shared/validation';

const schemaOf = (schema: z.ZodMiniType, io: 'input' | 'output' = 'input') => {
  const { $schema: _dialect, ...body } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return body;
};

/**
 * A 400 that a request meeting its schema can still get, because of state the schema cannot
 * know: what exists (a secret version, an upload), what this deployment allows (its prefix, cap,
 * backends, store-endpoint policy) or whether a store answers. Listed per operation in the
 * document (`x-state-refusals`), so a conforming request never meets an undocumented refusal;
 * the schema fuzzer (scripts/fuzz-openapi.sh) holds the API to exactly these.
 */
export interface StateRefusal {
  code: ErrorCode;
  /** The `field` the answer names; absent when it names none. */
  field?: string;
  when: string;
}

/** The refusals of the registration proof and the record rules of the deployment. */
const RECORD_STATE_REFUSALS: readonly StateRefusal[] = [
  {
    code: 'invalid_secret',
    when: 'the secret is outside the prefix or under its admin sub-path, is not of the provider shape, or has no such version or label (secret_version)',
  },
  {
    code: 'endpoint_not_allowed',
    field: 'endpoint',
    when: "this deployment's store-endpoint policy refuses the endpoint",
  },
  {
    code: 'invalid_request',
    field: 'endpoint',
    when: "this deployment's store-endpoint policy refuses the endpoint",
  },
  {
    code: 'store_unreachable',
    field: 'endpoint',
    when: 'the store at the endpoint cannot be reached: connection refused, a name that does not resolve, a failed TLS handshake, no answer in time',
  },
  {
    code: 'invalid_request',
    field: 'max_expires_in',
    when: "above this deployment's cap (MAX_URL_LIFETIME_SECONDS)",
  },
  { code: 'invalid_request', field: 'secrets_backend', when: 'a backend this deployment does not run' },
  {
    code: 'invalid_request',
    field: 'auth_mode',
    when: 'workload_identity where the deployment has no Google identity',
  },
];

/** The responses of an operation: its answer, each documented 400, and the error shape otherwise. */
export function operationResponses(
  success: Record<string, unknown>,
  error: Record<string, unknown>,
  refusals: readonly StateRefusal[],
): Record<string, unknown> {
  const listed = refusals
    .map(
      (refusal) =>
        `\`${refusal.code}\`${refusal.field === undefined ? '' : ` (field \`${refusal.field}\`)`}: ${refusal.when}`,
    )
    .join('; ');
  return {
    ...success,
    '400': {
      description: `\`invalid_request\` naming the field, for a request that breaks this schema${listed === '' ? '' : `. A request that meets it may still be refused: ${listed}`}`,
      content: { 'application/json': { schema: error } },
      ...(refusals.length === 0 ? {} : { 'x-state-refusals': refusals }),
    },
    default: {
      description: 'Error (4xx with a stable code; 5xx only for backend failures)',
      content: { 'application/json': { schema: error } },
    },
  };
}

/**
 * The admin routes (DESIGN.md "Admin API and CLI") as OpenAPI 3.1 paths, from the same zod
 * schemas the admin core parses with. `error` is the shared error answer.
 */
export function adminOpenApiPaths(error: Record<string, unknown>): Record<string, unknown> {
  const record = {
    ...schemaOf(BucketRecordSchema, 'output'),
    allOf: [...MODE_RULES_JSON_SCHEMA, STATIC_SECRET_RULE],
  };
  const registration = schemaOf(BucketRegistrationSchema) as {
    properties: Record<string, unknown>;
    required?: string[];
  };
  registration.properties.create_secret = {
    type: 'boolean',
    description:
      'Write `secret` to the secrets manager under `<prefix><provider>/<bucket>`; give no `secret_ref`.',
  };
  registration.properties.secret = {
    ...schemaOf(NewSecretKeysSchema),
    description: 'With `create_secret`: the keys, written at once and never kept, logged or returned.',
  };
  // The rules `BucketAdmin.register` and the record's refinement check in code.
  const withNewSecret = {
    description:
      'With create_secret: the keys in `secret` (an S3 pair, or a service-account key for provider gcp), auth_mode static, and no secret_ref or secret_version (the broker names the new secret).',
    required: ['secret'],
    properties: {
      auth_mode: { const: 'static' },
      secret_ref: { type: 'null' },
      secret_version: { type: 'null' },
    },
    allOf: [
      jsonSchemaIf(
        { required: ['provider'], properties: { provider: { const: 'gcp' } } },
        { properties: { secret: { required: ['service_account_key_json'] } } },
        { properties: { secret: { not: { required: ['service_account_key_json'] } } } },
      ),
    ],
  };
  const withExistingSecret = {
    description: 'Without create_secret: no `secret`; a static bucket names its secret (secret_ref).',
    not: { required: ['secret'] },
    allOf: [STATIC_SECRET_RULE],
  };
  const registrationRules = {
    allOf: [
      ...MODE_RULES_JSON_SCHEMA,
      jsonSchemaIf(
        { required: ['create_secret'], properties: { create_secret: { const: true } } },
        withNewSecret,
        withExistingSecret,
      ),
    ],
  };
  const id = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The record id (a UUID) or the bucket name',
    schema: { type: 'string', minLength: 1, maxLength: 222 },
  };
  const answer = (
    status: string,
    schema: Record<string, unknown>,
    description = 'OK',
    refusals: readonly StateRefusal[] = [],
  ) =>
    operationResponses(
      { [status]: { description, content: { 'application/json': { schema } } } },
      error,
      refusals,
    );
  const body = (schema: Record<string, unknown>) => ({
    required: true,
    content: { 'application/json': { schema } },
  });
  const security = [{ sigv4: [] }];
  const report = {
    type: 'object',
    required: ['bucket', 'id', 'ok', 'checks'],
    properties: {
      bucket: { type: 'string' },
      id: { type: 'string' },
      ok: { type: 'boolean' },
      checks: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'ok', 'message'],
          properties: {
            name: {
              type: 'string',
              enum: ['record', 'secret', 'secret_shape', 'secret_pin', 'assume_role', 'bucket_access'],
            },
            ok: { type: 'boolean' },
            message: { type: 'string' },
          },
        },
      },
    },
  };
  const query = schemaOf(ListBucketsQuerySchema) as { properties: Record<string, Record<string, unknown>> };
  return {
    '/v1/admin/buckets': {
      post: {
        summary: 'Register a bucket (its credentials are proven on the bucket before it is saved)',
        security,
        parameters: [
          {
            name: 'validate',
            in: 'query',
            required: false,
            description: '`false` saves without the proof (migrations of unreachable buckets)',
            schema: { type: 'string', enum: ['false'] },
          },
        ],
        requestBody: body({ ...registration, ...registrationRules }),
        responses: answer('201', record, 'Registered', RECORD_STATE_REFUSALS),
      },
      get: {
        summary: 'List records, a page at a time',
        security,
        parameters: Object.entries(query.properties).map(([name, schema]) => ({
          name,
          in: 'query',
          required: false,
          schema,
        })),
        responses: answer('200', {
          type: 'object',
          required: ['records'],
          properties: { records: { type: 'array', items: record }, cursor: { type: 'string' } },
        }),
      },
    },
    '/v1/admin/buckets/{id}': {
      get: { summary: 'One record', security, parameters: [id], responses: answer('200', record) },
      patch: {
        summary: 'Change a record at the revision it was read at',
        security,
        parameters: [id],
        requestBody: body(schemaOf(PatchBucketRequestSchema)),
        responses: answer('200', record, 'OK', [
          ...RECORD_STATE_REFUSALS,
          {
            code: 'invalid_request',
            field: 'secret_version',
            when: "a pin on a bucket that has no secret (the stored record's auth mode)",
          },
          {
            code: 'invalid_request',
            field: 'endpoint',
            when: "no endpoint for a provider that needs one (the stored record's provider)",
          },
        ]),
      },
    },
    '/v1/admin/buckets/{id}/rotate': {
      post: {
        summary: "Rotate the bucket's secret now, through its configured rotation function",
        security,
        parameters: [id],
        responses: answer(
          '202',
          {
            type: 'object',
            properties: {
              bucket: { type: 'string' },
              secret_ref: { type: 'string' },
              version_id: { type: 'string' },
            },
          },
          'Rotation started',
          [
            {
              code: 'invalid_request',
              when: 'the bucket has no secret to rotate (auth_mode role or workload_identity)',
            },
          ],
        ),
      },
    },
    '/v1/admin/buckets/{id}/validate': {
      post: {
        summary: 'Run the registration proof again, check by check',
        security,
        parameters: [id],
        responses: answer('200', report),
      },
    },
  };
}
