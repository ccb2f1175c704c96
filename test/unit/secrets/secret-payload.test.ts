import { SecretShapeError } from '../../../functions/shared/errors';
import { decodeSecretPayload } from '../../../functions/shared/secrets/secret-resolver';
import { staticCredentialsFrom } from '../../../functions/shared/secrets/secret-shapes';

const CANARY = 'canary-9d1c4e2f-value';

describe('Function: decodeSecretPayload', () => {
  it.each([
    ['text that is not JSON', `${CANARY}`, 'is not valid JSON'],
    ['a JSON array', `["${CANARY}"]`, 'must be a JSON object'],
    [
      'a non-string field',
      `{"secret_access_key": {"nested": "${CANARY}"}}`,
      'field "secret_access_key" must be a string',
    ],
  ])('refuses %s without echoing it', (_case, text, problem) => {
    const attempt = () => decodeSecretPayload('gen3/fence/x', text);
    expect(attempt).toThrow(SecretShapeError);
    expect(attempt).toThrow(`secret gen3/fence/x: ${problem}`);
    try {
      attempt();
    } catch (error) {
      expect(JSON.stringify({ message: (error as Error).message, ...(error as object) })).not.toContain(
        CANARY,
      );
    }
  });

  it('returns a frozen payload', () => {
    const payload = decodeSecretPayload('ref', '{"access_key_id":"a","secret_access_key":"b"}');
    expect(Object.isFrozen(payload)).toBe(true);
  });
});

describe('Function: staticCredentialsFrom', () => {
  it('keeps the optional fields and ignores rotation metadata', () => {
    const payload = decodeSecretPayload(
      'ref',
      JSON.stringify({
        access_key_id: 'a',
        secret_access_key: 'b',
        session_token: 't',
        minio_parent_user: 'fence',
      }),
    );
    expect(staticCredentialsFrom('ref', payload)).toEqual({
      access_key_id: 'a',
      secret_access_key: 'b',
      session_token: 't',
    });
  });

  it('names the field of an empty key, not its value', () => {
    const payload = decodeSecretPayload(
      'ref',
      JSON.stringify({ access_key_id: '', secret_access_key: CANARY }),
    );
    expect(() => staticCredentialsFrom('ref', payload)).toThrow(
      'secret ref: field "access_key_id" must be at least 1 character long',
    );
  });
});
