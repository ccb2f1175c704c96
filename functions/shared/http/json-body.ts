import type { APIGatewayProxyEvent } from 'aws-lambda';
import { InvalidRequestError } from '../errors';

/**
 * Refuses bytes that are not UTF-8 instead of replacing them with U+FFFD (which would then be
 * signed into a URL or stored as if the caller had sent it).
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body of an API Gateway proxy event as JSON. API Gateway delivers it base64-encoded (the
 * API lists every media type as binary), so invalid UTF-8 reaches the handler as the bytes that
 * were sent and is refused here.
 */
export function readJsonBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): unknown {
  if (event.body === null || event.body === undefined || event.body === '') {
    throw new InvalidRequestError('request body is required');
  }
  let text = event.body;
  if (event.isBase64Encoded) {
    try {
      text = STRICT_UTF8.decode(Buffer.from(event.body, 'base64'));
    } catch {
      throw new InvalidRequestError('request body is not valid UTF-8');
    }
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError('request body is not valid JSON');
  }
}
