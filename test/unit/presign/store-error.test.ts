import {
  CredentialsRejectedError,
  InvalidRequestError,
  StoreUnavailableError,
  ThrottledError,
} from '../../../functions/shared/errors';
import { storeError } from '../../../functions/shared/presign/multipart-store-client';

describe('Function: storeError (S3 and GCS XML API error answers)', () => {
  it.each([
    ['AccessDenied', 403],
    ['SignatureDoesNotMatch', 403],
    ['InvalidAccessKeyId', 403],
    ['ExpiredToken', 400],
    ['InvalidToken', 400],
  ])('maps %s (HTTP %i) to 502 credentials_rejected', (code, status) => {
    // Act
    const error = storeError(code, status);

    // Assess
    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect(error).toMatchObject({ code: 'credentials_rejected', status: 502 });
    expect(error.message).toContain(code);
  });

  it.each([
    ['NoSuchUpload', 404, 'upload_id'],
    ['InvalidPart', 400, 'parts'],
    ['InvalidPartOrder', 400, 'parts'],
    ['EntityTooSmall', 400, 'parts'],
    ['MalformedXML', 400, 'parts'],
    ['InvalidArgument', 400, 'parts'],
    ['UserProjectMissing', 400, 'requester_pays'],
  ])('maps %s (HTTP %i) to 400 invalid_request naming %s', (code, status, field) => {
    // Act
    const error = storeError(code, status);

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ code: 'invalid_request', status: 400, field });
    expect(error.message).toContain(code);
    // The docs' promise: the message names the field to fix, first.
    if (code !== 'UserProjectMissing') expect(error.message.startsWith(field)).toBe(true);
  });

  it.each([
    ['2 KB long', 'X'.repeat(2048)],
    ['with control characters', 'NoSuch\u001b[2JUpload\u0007'],
    ['with markup', '<script>'],
    ['with spaces', 'Access Denied'],
  ])('never repeats a store code %s: 503 naming the HTTP status only', (_case, code) => {
    // Act
    const error = storeError(code, 500);

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toBe('the store failed the request (HTTP 500, with an error code that is not one)');
  });

  it.each([
    ['SlowDown', 503],
    [undefined, 503],
    [undefined, 429],
    ['TooManyRequests', 429],
  ])('maps %s (HTTP %i) to 429 throttled with Retry-After', (code, status) => {
    // Act
    const error = storeError(code, status);

    // Assess
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({ code: 'throttled', status: 429, retryAfterSeconds: 1 });
  });

  it.each([
    ['InternalError', 500],
    ['NoSuchBucket', 404],
    [undefined, 502],
  ])('maps anything else, %s (HTTP %i), to 503 store_unavailable', (code, status) => {
    // Act
    const error = storeError(code, status);

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code: 'store_unavailable', status: 503 });
    expect(error.message).toContain(code ?? `HTTP ${status}`);
  });
});
