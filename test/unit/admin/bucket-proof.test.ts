import { BucketProof } from '../../../functions/shared/admin/bucket-proof';
import { InvalidSecretError } from '../../../functions/shared/errors';

describe('Class: BucketProof', () => {
  const proof = new BucketProof({
    backends: {},
    roles: {
      get: () => Promise.reject(new Error('role mode is not under test')),
    },
    secretsPrefix: 'gen3/fence/',
  });
  const refusal = (name: string): Error | undefined => {
    try {
      proof.checkPrefix(name, 'secret_ref');
      return undefined;
    } catch (error) {
      return error as Error;
    }
  };

  it('accepts a secret under the prefix and outside its admin sub-path', () => {
    expect(refusal('gen3/fence/minio/bucket')).toBeUndefined();
  });

  it.each([
    ['under the admin sub-path once normalized', 'gen3/fence/x/../admin/minio/m'],
    ['under the admin sub-path through "."', 'gen3/fence/./admin/minio/m'],
    ['under the admin sub-path through an empty segment', 'gen3/fence//admin/minio/m'],
    ['outside the prefix once normalized', 'gen3/fence/../other/m'],
  ])('refuses a name %s with invalid_secret naming the field', (_case, name) => {
    const error = refusal(name);
    expect(error).toBeInstanceOf(InvalidSecretError);
    expect(error).toMatchObject({ code: 'invalid_secret', status: 400 });
    expect(error?.message).toContain('(secret_ref)');
  });
});
