import * as z from 'zod/mini';
import {
  ListBucketsQuerySchema,
  NewSecretKeysSchema,
  PatchBucketRequestSchema,
} from '../shared/admin/admin-requests';
import { BucketRecordSchema, BucketRegistrationSchema } from '../shared/registry/bucket-record';

const schemaOf = (schema: z.ZodMiniType, io: 'input' | 'output' = 'input') => {
  const { $schema: _dialect, ...body } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return body;
};

/**
 * The admin routes (DESIGN.md "Admin API and CLI") as OpenAPI 3.1 paths, from the same zod
 * schemas the admin core parses with. `error` is the shared error answer.
 */
export function adminOpenApiPaths(error: Record<string, unknown>): Record<string, unknown> {
  const record = schemaOf(BucketRecordSchema, 'output');
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
  const id = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The record id (a UUID) or the bucket name',
    schema: { type: 'string', minLength: 1, maxLength: 222 },
  };
  const answer = (status: string, schema: Record<string, unknown>, description = 'OK') => ({
    [status]: { description, content: { 'application/json': { schema } } },
    default: {
      description: 'Error (4xx with a stable code)',
      content: { 'application/json': { schema: error } },
    },
  });
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
        requestBody: body(registration),
        responses: answer('201', record, 'Registered'),
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
        responses: answer('200', record),
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
