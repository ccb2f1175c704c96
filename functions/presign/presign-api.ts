import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type * as z from 'zod/mini';
import {
  type BrokerError,
  InvalidRequestError,
  MethodNotAllowedError,
  UnknownRouteError,
} from '../shared/errors';
import { errorResponse, jsonResponse } from '../shared/http/api-response';
import { readJsonBody } from '../shared/http/json-body';
import {
  MultipartAbortRequestSchema,
  MultipartCompleteRequestSchema,
  MultipartInitRequestSchema,
  MultipartPartsRequestSchema,
  PresignBatchRequestSchema,
  type PresignRequest,
  PresignRequestSchema,
} from '../shared/presign/presign-requests';
import type { PresignAudit, PresignContext, PresignService } from '../shared/presign/presign-service';
import { BucketNameSchema } from '../shared/registry/bucket-record';
import { invalidRequest, parseRequest } from '../shared/validation';

/** One audit line per request (DESIGN.md "Logging and audit"): never a secret, token or signature. */
export interface PresignAuditLine {
  request_id: string;
  route: string;
  bucket: string;
  operation: string;
  caller: string | undefined;
  audit_user: string | undefined;
  purpose: string | undefined;
  secret_ref: string | null | undefined;
  outcome: 'ok' | string;
  status: number;
  latency_ms: number;
  items?: number;
}

export interface PresignApiDependencies {
  service: PresignService;
  /** Receives the audit line of each request (the handler logs it and records metrics). */
  record: (line: PresignAuditLine) => void;
  /** Receives errors that are not ours (bugs, unmapped SDK errors) so they can be logged. */
  unexpected?: (error: unknown) => void;
  /** @default performance.now */
  now?: () => number;
}

export type PresignRoute =
  | 'presign'
  | 'presign-batch'
  | 'multipart'
  | 'multipart/parts'
  | 'multipart/complete'
  | 'multipart/abort';

type RouteHandler = (
  service: PresignService,
  bucket: string,
  body: unknown,
  context: PresignContext,
  audit: PresignAudit,
) => Promise<{ status: number; body?: unknown; operation: string; fields: Partial<PresignAuditLine> }>;

const parse = <S extends z.ZodMiniType>(schema: S, body: unknown) => parseRequest(schema, body);

/** The routes of DESIGN.md "Presign API", keyed by the path after `/v1/buckets/{bucket}/`. */
const ROUTES: Record<PresignRoute, RouteHandler> = {
  presign: async (service, bucket, body, context, audit) => {
    const request = parse(PresignRequestSchema, body);
    const url = await service.presign(bucket, request, context, audit);
    return { status: 200, body: url, operation: request.method, fields: auditFields(request) };
  },
  'presign-batch': async (service, bucket, body, context, audit) => {
    const { items } = parse(PresignBatchRequestSchema, body);
    const requests = items.map((item) => {
      const parsed = PresignRequestSchema.safeParse(item);
      return parsed.success ? parsed.data : invalidRequest(parsed.error.issues[0], item, 'item');
    });
    const results = await service.presignBatch(bucket, requests, context, audit);
    const first = requests.find(
      (request): request is PresignRequest => !(request instanceof InvalidRequestError),
    );
    return {
      status: 200,
      body: { results },
      operation: 'batch',
      fields: { ...auditFields(first), items: items.length },
    };
  },
  multipart: async (service, bucket, body, context, audit) => {
    const answer = await service.initiateMultipart(
      bucket,
      parse(MultipartInitRequestSchema, body),
      context,
      audit,
    );
    return { status: 200, body: answer, operation: 'multipart-init', fields: {} };
  },
  'multipart/parts': async (service, bucket, body, context, audit) => {
    const request = parse(MultipartPartsRequestSchema, body);
    const answer = await service.presignParts(bucket, request, context, audit);
    return {
      status: 200,
      body: answer,
      operation: 'multipart-parts',
      fields: { items: request.part_numbers.length },
    };
  },
  'multipart/complete': async (service, bucket, body, context, audit) => {
    const answer = await service.completeMultipart(
      bucket,
      parse(MultipartCompleteRequestSchema, body),
      context,
      audit,
    );
    return { status: 200, body: answer, operation: 'multipart-complete', fields: {} };
  },
  'multipart/abort': async (service, bucket, body, context, audit) => {
    await service.abortMultipart(bucket, parse(MultipartAbortRequestSchema, body), context, audit);
    return { status: 204, operation: 'multipart-abort', fields: {} };
  },
};

/** The routes under `/v1/buckets/{bucket}/`, shared with the CDK construct that exposes them. */
export const PRESIGN_ROUTES = Object.keys(ROUTES) as PresignRoute[];

const ROUTE_PATTERN = /^\/v1\/buckets\/([^/]+)\/(.+?)\/?$/;

function auditFields(
  request: { audit?: { username?: string; user_id?: string }; purpose?: string } | undefined,
) {
  return { audit_user: request?.audit?.username ?? request?.audit?.user_id, purpose: request?.purpose };
}

/** The parts of an API Gateway (REST, proxy) event the API reads. */
export type PresignApiEvent = Pick<
  APIGatewayProxyEvent,
  'httpMethod' | 'path' | 'body' | 'isBase64Encoded' | 'requestContext'
> & {
  /**
   * Set by a front end that refused the body itself (the local runner's size limit, where API
   * Gateway would answer 413): answered as this error, with the usual shape and audit line.
   */
  bodyRefusal?: BrokerError;
};

/**
 * The presign API over an API Gateway (REST, proxy) event: route, parse, call the service, map
 * the result or error. Bad input of any shape ends as a 4xx with a stable code.
 */
export async function handlePresignApi(
  event: PresignApiEvent,
  invocation: PresignContext,
  deps: PresignApiDependencies,
): Promise<APIGatewayProxyResult> {
  const { requestId } = invocation;
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const audit: PresignAudit = {};
  const line: PresignAuditLine = {
    request_id: requestId,
    route: '',
    bucket: '',
    operation: '',
    caller: event.requestContext?.identity?.userArn ?? event.requestContext?.identity?.caller ?? undefined,
    audit_user: undefined,
    purpose: undefined,
    secret_ref: undefined,
    outcome: 'ok',
    status: 200,
    latency_ms: 0,
  };
  let response: APIGatewayProxyResult;
  try {
    const match = ROUTE_PATTERN.exec(event.path ?? '');
    if (match === null || !Object.hasOwn(ROUTES, match[2] ?? '')) {
      throw new UnknownRouteError(
        `no route at this path; the routes are POST /v1/buckets/{bucket}/ followed by ${PRESIGN_ROUTES.join(', ')}`,
      );
    }
    const [, rawBucket = '', route = ''] = match;
    line.route = route;
    if (event.httpMethod !== 'POST') {
      throw new MethodNotAllowedError(`${route} accepts POST only`, ['POST']);
    }
    const bucket = parseRequest(BucketNameSchema, safeDecode(rawBucket), 'bucket');
    line.bucket = bucket;
    if (event.bodyRefusal !== undefined) throw event.bodyRefusal;
    const result = await ROUTES[route as PresignRoute](
      deps.service,
      bucket,
      readJsonBody(event),
      invocation,
      audit,
    );
    Object.assign(line, result.fields, { operation: result.operation, status: result.status });
    response =
      result.body === undefined
        ? { statusCode: result.status, body: '' }
        : jsonResponse(result.status, result.body);
  } catch (error) {
    const failure = errorResponse(error, requestId);
    if (failure.code === 'internal_error') deps.unexpected?.(error);
    line.outcome = failure.code;
    line.status = failure.statusCode;
    const { code: _code, ...wire } = failure;
    response = wire;
  }
  line.secret_ref = audit.record?.secret_ref;
  line.latency_ms = Math.round((now() - started) * 1000) / 1000;
  deps.record(line);
  return response;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidRequestError('bucket is not a valid path segment', 'bucket');
  }
}
