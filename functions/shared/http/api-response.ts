import type { APIGatewayProxyResult } from 'aws-lambda';
import { BrokerError, type ErrorCode, MethodNotAllowedError, storeText } from '../errors';

/**
 * The longest message an error answer carries: with the code, request id and field the body
 * stays under the 1 KB the README promises, whatever a message was built from.
 */
const MAX_MESSAGE_CHARACTERS = 768;

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

export function jsonResponse(status: number, body: unknown): APIGatewayProxyResult {
  return { statusCode: status, headers: JSON_HEADERS, body: JSON.stringify(body) };
}

/**
 * What an error becomes on the wire: status, stable code, message and, for a 4xx caused by one
 * field of the request or record, that `field`; never a stack or a secret.
 */
export function errorResponse(
  error: unknown,
  requestId: string,
): APIGatewayProxyResult & { code: ErrorCode } {
  const known = error instanceof BrokerError;
  const status = known ? error.status : 500;
  const code: ErrorCode = known ? error.code : 'internal_error';
  const message = known ? storeText(error.message, MAX_MESSAGE_CHARACTERS) : 'internal error';
  const field = known && status < 500 ? fieldOf(error) : undefined;
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (known && error.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(error.retryAfterSeconds);
  if (error instanceof MethodNotAllowedError) headers.allow = error.allow.join(', ');
  return {
    statusCode: status,
    headers,
    body: JSON.stringify({
      error: { code, message, request_id: requestId, ...(field === undefined ? {} : { field }) },
    }),
    code,
  };
}

/** The field an error names (`InvalidRequestError`, `StoreEndpointRefusedError`), if any. */
function fieldOf(error: BrokerError): string | undefined {
  const field = (error as { field?: unknown }).field;
  return typeof field === 'string' && /^[a-z_][a-z0-9_.[\]]{0,63}$/.test(field) ? field : undefined;
}
