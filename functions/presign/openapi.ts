import * as z from 'zod/mini';
import { adminOpenApiPaths } from '../admin/admin-openapi';
import { ERROR_CODES } from '../shared/errors';
import {
  MultipartAbortRequestSchema,
  MultipartCompleteRequestSchema,
  MultipartInitRequestSchema,
  MultipartPartsRequestSchema,
  PresignBatchRequestSchema,
  PresignRequestSchema,
} from '../shared/presign/presign-requests';
import { BucketNameSchema } from '../shared/registry/bucket-record';

const jsonSchema = (schema: z.ZodMiniType) => {
  const { $schema: _dialect, ...body } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return body;
};

const BATCH_DESCRIPTION =
  'Each item is checked on its own and answered in its place in `results`. An item that breaks the ' +
  'presign schema gets `{"error": {"code": "invalid_request", "message": …}}`; an item whose operation ' +
  'the bucket does not allow gets `{"error": {"code": "operation_not_allowed", "message": …}}`; the ' +
  'other items are signed. The whole batch fails (one error answer) only when the body itself is ' +
  'wrong (not a JSON object, `items` missing, not an array, empty or longer than 1,000, an unknown ' +
  'top-level field: 400 `invalid_request`) or when the bucket is (unknown, suspended, or its ' +
  'credentials or backends failing: 404, 409, 429, 502, 503).';

/**
 * The broker's API (presign routes for Fence, admin routes for operators) as OpenAPI 3.1,
 * generated from the same zod schemas the handlers parse with.
 */
export function brokerOpenApiDocument(): Record<string, unknown> {
  const presignedUrl = {
    type: 'object',
    required: ['url', 'method', 'headers', 'expires_at'],
    properties: {
      url: { type: 'string', format: 'uri' },
      method: { type: 'string', enum: ['GET', 'PUT', 'HEAD'] },
      headers: {
        type: 'object',
        additionalProperties: { type: 'string' },
        description: 'Headers the client must send',
      },
      expires_at: { type: 'string', format: 'date-time' },
    },
  };
  const error = {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'request_id'],
        properties: {
          code: { type: 'string', enum: [...ERROR_CODES] },
          message: { type: 'string' },
          request_id: { type: 'string' },
          field: {
            type: 'string',
            description: 'The request (or record) field to fix, on a 4xx caused by one field',
          },
        },
      },
    },
  };
  const route = (
    summary: string,
    request: z.ZodMiniType | Record<string, unknown>,
    answer: Record<string, unknown> | undefined,
    description?: string,
  ) => ({
    post: {
      summary,
      ...(description === undefined ? {} : { description }),
      security: [{ sigv4: [] }],
      parameters: [{ name: 'bucket', in: 'path', required: true, schema: jsonSchema(BucketNameSchema) }],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: '_zod' in request ? jsonSchema(request as z.ZodMiniType) : request },
        },
      },
      responses: {
        ...(answer === undefined
          ? { '204': { description: 'Done' } }
          : { '200': { description: 'OK', content: { 'application/json': { schema: answer } } } }),
        default: {
          description: 'Error (4xx with a stable code; 5xx only for backend failures)',
          content: { 'application/json': { schema: error } },
        },
      },
    },
  });
  // Items are parsed one by one (per-item errors), so the frame's schema leaves them open.
  const batchRequest = jsonSchema(PresignBatchRequestSchema) as {
    properties: { items: Record<string, unknown> };
  };
  batchRequest.properties.items.items = jsonSchema(PresignRequestSchema);
  const itemError = {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', enum: ['invalid_request', 'operation_not_allowed'] },
          message: { type: 'string' },
        },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'fence-bucket-broker API (presign and admin)', version: '1' },
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS SigV4 (IAM authorization at API Gateway)',
        },
      },
    },
    paths: {
      '/v1/buckets/{bucket}/presign': route(
        'Presign one GET, PUT or HEAD',
        PresignRequestSchema,
        presignedUrl,
      ),
      '/v1/buckets/{bucket}/presign-batch': route(
        'Presign up to 1,000 URLs',
        batchRequest,
        {
          type: 'object',
          properties: { results: { type: 'array', items: { oneOf: [presignedUrl, itemError] } } },
        },
        BATCH_DESCRIPTION,
      ),
      '/v1/buckets/{bucket}/multipart': route('Start a multipart upload', MultipartInitRequestSchema, {
        type: 'object',
        properties: { upload_id: { type: 'string' } },
      }),
      '/v1/buckets/{bucket}/multipart/parts': route('Presign part uploads', MultipartPartsRequestSchema, {
        type: 'object',
        properties: {
          parts: {
            type: 'array',
            items: {
              type: 'object',
              properties: { part_number: { type: 'integer' }, url: { type: 'string' } },
            },
          },
        },
      }),
      '/v1/buckets/{bucket}/multipart/complete': route(
        'Complete a multipart upload',
        MultipartCompleteRequestSchema,
        {
          type: 'object',
          properties: { etag: { type: 'string' } },
        },
      ),
      '/v1/buckets/{bucket}/multipart/abort': route(
        'Abort a multipart upload',
        MultipartAbortRequestSchema,
        undefined,
      ),
      ...adminOpenApiPaths(error),
    },
  };
}
