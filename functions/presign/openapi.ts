import * as z from 'zod/mini';
import { adminOpenApiPaths, operationResponses, type StateRefusal } from '../admin/admin-openapi';
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

/** Every presign route: GCS requester pays needs a project to bill, which the deployment names. */
const REQUESTER_PAYS_REFUSAL: StateRefusal = {
  code: 'invalid_request',
  field: 'requester_pays',
  when: 'a GCS bucket where the deployment names no project to bill, or a requester-pays bucket asked without it',
};
/** What a store answers about an upload the fuzzer (or a caller) names but the store does not have. */
const NO_SUCH_UPLOAD: StateRefusal = {
  code: 'invalid_request',
  field: 'upload_id',
  when: 'the store has no such multipart upload in progress for this key (completed, aborted or never started)',
};
const COMPLETE_REFUSALS: readonly StateRefusal[] = [
  REQUESTER_PAYS_REFUSAL,
  NO_SUCH_UPLOAD,
  {
    code: 'invalid_request',
    field: 'parts',
    when: 'the store refuses the parts: one it does not have, an etag that is not its, a part under 5 MiB but the last',
  },
];

const BATCH_DESCRIPTION =
  'Each item is checked on its own and answered in its place in `results`. An item that breaks the ' +
  'presign schema gets `{"error": {"code": "invalid_request", "message": …}}`; an item whose operation ' +
  'the bucket does not allow gets `{"error": {"code": "operation_not_allowed", "message": …}}`; the ' +
  'other items are signed. The whole batch fails (one error answer) only when the body itself is ' +
  'wrong (not a JSON object, `items` missing, not an array, empty or longer than 1,000, an unknown ' +
  'top-level field: 400 `invalid_request`) or when the bucket is (unknown, suspended, or its ' +
  'credentials or backends failing: 404, 409, 429, 502, 503).';

/** Which document: the deployed API's, or the one the local runner serves. */
export interface BrokerOpenApiOptions {
  /**
   * `none` for the local runner, which checks no SigV4 (loopback, one person at the machine): a
   * document that required `Authorization` there would promise a refusal the runner never gives.
   * @default 'sigv4'
   */
  authentication?: 'sigv4' | 'none';
}

/**
 * The broker's API (presign routes for Fence, admin routes for operators) as OpenAPI 3.1,
 * generated from the same zod schemas the handlers parse with.
 */
export function brokerOpenApiDocument(options: BrokerOpenApiOptions = {}): Record<string, unknown> {
  const document = deployedDocument();
  if (options.authentication !== 'none') return document;
  const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) delete operation.security;
  }
  delete (document.components as Record<string, unknown>).securitySchemes;
  return {
    ...document,
    info: { ...(document.info as object), description: 'As the local runner serves it: no authentication.' },
  };
}

function deployedDocument(): Record<string, unknown> {
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
    refusals: readonly StateRefusal[] = [REQUESTER_PAYS_REFUSAL],
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
      responses: operationResponses(
        answer === undefined
          ? { '204': { description: 'Done' } }
          : { '200': { description: 'OK', content: { 'application/json': { schema: answer } } } },
        error,
        refusals,
      ),
    },
  });
  // Items are parsed one by one and an invalid one is answered in its place, so the frame takes
  // any item: the presign request is shown as the one that gets a URL.
  const batchRequest = jsonSchema(PresignBatchRequestSchema) as {
    properties: { items: Record<string, unknown> };
  };
  batchRequest.properties.items.items = {
    anyOf: [
      jsonSchema(PresignRequestSchema),
      { description: 'Any other value: answered with an `invalid_request` error in its place' },
    ],
  };
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
        undefined,
        COMPLETE_REFUSALS,
      ),
      '/v1/buckets/{bucket}/multipart/abort': route(
        'Abort a multipart upload',
        MultipartAbortRequestSchema,
        undefined,
        undefined,
        [REQUESTER_PAYS_REFUSAL, NO_SUCH_UPLOAD],
      ),
      ...adminOpenApiPaths(error),
    },
  };
}
