import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { AdminContext, BucketAdmin } from '../shared/admin/bucket-admin';
import {
  CallerNotAllowedError,
  InvalidRequestError,
  MethodNotAllowedError,
  UnknownRouteError,
} from '../shared/errors';
import { errorResponse, jsonResponse } from '../shared/http/api-response';
import { isAllowedCaller } from '../shared/http/caller';
import { readJsonBody } from '../shared/http/json-body';

export type AdminApiEvent = Pick<
  APIGatewayProxyEvent,
  'httpMethod' | 'path' | 'body' | 'isBase64Encoded' | 'requestContext' | 'queryStringParameters'
>;

export interface AdminApiDependencies {
  admin: BucketAdmin;
  /**
   * Principals allowed to call; the handler refuses anyone else itself, whatever path the
   * request took. Undefined only on the local runner (loopback, no SigV4).
   */
  allowedCallers: readonly string[] | undefined;
  /** Receives refusals of callers (which never reach the core, so have no audit line of their own). */
  refused?: (line: { request_id: string; caller: string | undefined; method: string; path: string }) => void;
  /** Receives errors that are not ours (bugs, unmapped SDK errors). */
  unexpected?: (error: unknown) => void;
}

type AdminRoute = {
  method: 'GET' | 'POST' | 'PATCH';
  /** Under `/v1/admin/`; `{id}` is a record id or a bucket name. */
  path: 'buckets' | 'buckets/{id}' | 'buckets/{id}/rotate' | 'buckets/{id}/validate';
  run: (admin: BucketAdmin, request: AdminRequest) => Promise<{ status: number; body: unknown }>;
};

interface AdminRequest {
  id: string;
  event: AdminApiEvent;
  context: AdminContext;
}

/** The admin routes of DESIGN.md "Admin API and CLI"; the CDK construct exposes exactly these. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  {
    method: 'POST',
    path: 'buckets',
    run: async (admin, { event, context }) => {
      // `validate=false` is for migrations of buckets that cannot be reached from here.
      const validate = event.queryStringParameters?.validate !== 'false';
      return { status: 201, body: await admin.register(readJsonBody(event), context, { validate }) };
    },
  },
  {
    method: 'GET',
    path: 'buckets',
    run: async (admin, { event }) => ({
      status: 200,
      body: await admin.list(event.queryStringParameters ?? {}),
    }),
  },
  {
    method: 'GET',
    path: 'buckets/{id}',
    run: async (admin, { id }) => ({ status: 200, body: await admin.get(id) }),
  },
  {
    method: 'PATCH',
    path: 'buckets/{id}',
    run: async (admin, { id, event, context }) => ({
      status: 200,
      body: await admin.patch(id, readJsonBody(event), context),
    }),
  },
  {
    method: 'POST',
    path: 'buckets/{id}/rotate',
    run: async (admin, { id, context }) => ({ status: 202, body: await admin.rotate(id, context) }),
  },
  {
    method: 'POST',
    path: 'buckets/{id}/validate',
    run: async (admin, { id, context }) => ({ status: 200, body: await admin.validate(id, context) }),
  },
];

const ADMIN_PATH = /^\/v1\/admin\/buckets(?:\/([^/]+))?(?:\/(rotate|validate))?\/?$/;

/** Which route template a path is, and its `{id}`. */
function matchPath(path: string): { template: AdminRoute['path']; id: string } | undefined {
  const match = ADMIN_PATH.exec(path);
  if (match === null) return undefined;
  const [, rawId, action] = match;
  if (rawId === undefined) return action === undefined ? { template: 'buckets', id: '' } : undefined;
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    throw new InvalidRequestError('id is not a valid path segment', 'id');
  }
  return {
    template: action === undefined ? 'buckets/{id}' : (`buckets/{id}/${action}` as AdminRoute['path']),
    id,
  };
}

/**
 * Whether the event is what API Gateway's REST API sends after IAM authorization: a request
 * context naming the API and the request, and an identity with the SigV4 access key and the
 * caller's ARN. Anything else (a console test event, a hand-written invoke payload, a function
 * URL's or an HTTP API's payload, an authorizer other than IAM, which leaves `accessKey` null)
 * is refused.
 *
 * This is a shape check, not authentication: the fields are whatever the invoker wrote. API
 * Gateway's IAM authorization, its resource policy (only `adminRoleArns`) and the route table
 * are what protect the admin API, and a principal granted `lambda:InvokeFunction` on the admin
 * function skips all three: it can write any `userArn` and call any route as any admin. So the
 * only invoke grant on this function is API Gateway's, and none may be added (README, "Managing
 * buckets").
 */
export function isIamApiGatewayRequest(event: AdminApiEvent): boolean {
  const context = event.requestContext as Partial<APIGatewayProxyEvent['requestContext']> | undefined;
  const identity = context?.identity as
    | Partial<APIGatewayProxyEvent['requestContext']['identity']>
    | undefined;
  const present = (value: unknown) => typeof value === 'string' && value !== '';
  return (
    present(context?.apiId) &&
    present(context?.requestId) &&
    present(identity?.accessKey) &&
    present(identity?.userArn)
  );
}

/**
 * The admin API over an API Gateway (REST, proxy) event: check the caller, route, call the admin
 * core, map the result or error (the same error shape and codes as the presign API).
 */
export async function handleAdminApi(
  event: AdminApiEvent,
  requestId: string,
  deps: AdminApiDependencies,
): Promise<APIGatewayProxyResult> {
  const caller = event.requestContext?.identity?.userArn ?? undefined;
  try {
    if (
      deps.allowedCallers !== undefined &&
      (!isIamApiGatewayRequest(event) || !isAllowedCaller(caller, deps.allowedCallers))
    ) {
      deps.refused?.({
        request_id: requestId,
        caller,
        method: String(event.httpMethod),
        path: String(event.path).slice(0, 200),
      });
      throw new CallerNotAllowedError('this caller may not use the admin API');
    }
    const matched = matchPath(event.path ?? '');
    if (matched === undefined) {
      throw new UnknownRouteError('no admin route at this path; the routes are under /v1/admin/buckets');
    }
    const candidates = ADMIN_ROUTES.filter((route) => route.path === matched.template);
    const route = candidates.find((candidate) => candidate.method === event.httpMethod);
    if (route === undefined) {
      const allow = candidates.map((candidate) => candidate.method);
      throw new MethodNotAllowedError(`${matched.template} accepts ${allow.join(', ')}`, allow);
    }
    const result = await route.run(deps.admin, {
      id: matched.id,
      event,
      context: { requestId, caller: caller ?? 'unknown' },
    });
    return jsonResponse(result.status, result.body);
  } catch (error) {
    const failure = errorResponse(error, requestId);
    if (failure.code === 'internal_error') deps.unexpected?.(error);
    const { code: _code, ...wire } = failure;
    return wire;
  }
}
