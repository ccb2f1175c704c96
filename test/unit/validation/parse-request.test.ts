import { InvalidRequestError } from '../../../functions/shared/errors';
import { PresignRequestSchema } from '../../../functions/shared/presign/presign-requests';
import { BucketNameSchema } from '../../../functions/shared/registry/bucket-record';
import { parseRequest } from '../../../functions/shared/validation';

const failure = (run: () => unknown): InvalidRequestError => {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error('expected an InvalidRequestError');
};

describe('Function: parseRequest', () => {
  it.each([
    [
      'a string',
      { key: 'k', method: 'GET', expires_in: '3600' },
      'expires_in must be an integer, not a string',
    ],
    [
      'a fraction',
      { key: 'k', method: 'GET', expires_in: 1.5 },
      'expires_in must be an integer, not a fractional number',
    ],
    ['null', { key: 'k', method: 'GET', expires_in: null }, 'expires_in must be an integer, not null'],
    ['an array', { key: ['k'], method: 'GET' }, 'key must be a string, not an array'],
    [
      'a number',
      { key: 'k', method: 'GET', requester_pays: 1 },
      'requester_pays must be true or false, not an integer',
    ],
    ['an object', { key: 'k', method: 'GET', audit: 'alice' }, 'audit must be an object, not a string'],
  ])('says a value of the wrong type (%s) is of the wrong type, not missing', (_case, body, message) => {
    // Act
    const error = failure(() => parseRequest(PresignRequestSchema, body));

    // Assess
    expect(error.message).toBe(message);
  });

  it('says a missing field is required', () => {
    expect(failure(() => parseRequest(PresignRequestSchema, { method: 'GET' })).message).toBe(
      'key is required',
    );
  });

  it('names the request body when the body itself has the wrong type', () => {
    expect(failure(() => parseRequest(PresignRequestSchema, [1])).message).toBe(
      'request body must be an object, not an array',
    );
  });

  it('names the subject it is given for issues at the root (a bucket path parameter)', () => {
    // Act
    const error = failure(() => parseRequest(BucketNameSchema, 'UPPER', 'bucket'));

    // Assess
    expect(error.message).toMatch(/^bucket must be lowercase/);
    expect(error.field).toBe('bucket');
  });

  it('lists the first five unknown fields and counts the rest, under 1 KB for 100,000 of them', () => {
    // Prepare
    const body: Record<string, unknown> = { key: 'k', method: 'GET' };
    for (let index = 0; index < 100_000; index++) body[`field_${index}_${'x'.repeat(200)}`] = index;

    // Act
    const error = failure(() => parseRequest(PresignRequestSchema, body));

    // Assess
    expect(error.message).toMatch(
      /^request body has 100000 unknown fields: "field_0_x+…", .* and 99,995 more$/,
    );
    expect(Buffer.byteLength(error.message)).toBeLessThan(1024);
  });

  it('keeps every message under 1 KB and free of the value, whatever the input', () => {
    // Prepare: a value the message must not echo, in every field of the schema.
    const canary = `canary-${'z'.repeat(5000)}`;
    const body = {
      key: `${canary}\u0000`,
      method: canary,
      expires_in: canary,
      content_type: canary,
      requester_pays: canary,
      audit: { username: `${canary}\u0001`, extra: canary },
      purpose: canary,
      extra: canary,
    };

    // Act
    const error = failure(() => parseRequest(PresignRequestSchema, body));

    // Assess
    expect(Buffer.byteLength(error.message)).toBeLessThan(1024);
    expect(error.message).not.toContain('zzzzz');
  });
});
