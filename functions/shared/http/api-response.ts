import type { APIGatewayProxyResult } from 'aws-lambda';
import { BrokerError, type ErrorCode, MethodNotAllowedError } from '../errors';

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

export function jsonResponse(status: number, body: unknown): APIGatewayProxyResult {
  return { statusCode: status, headers: JSON_HEADERS, body: JSON.stringify(body) };
}

/** What an error becomes on the wire: status, stable code, message; never a stack or a secret. */
export function errorResponse(
  error: unknown,
  requestId: string,
): APIGatewayProxyResult & { code: ErrorCode } {
  const known = error instanceof BrokerError;
  const status = known ? error.status : 500;
  const code: ErrorCode = known ? error.code : 'internal_error';
  const message = known ? error.message : 'internal error';
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (known && error.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(error.retryAfterSeconds);
  if (error instanceof MethodNotAllowedError) headers.allow = error.allow.join(', ');
  return {
    statusCode: status,
    headers,
    body: JSON.stringify({ error: { code, message, request_id: requestId } }),
    code,
  };
}
