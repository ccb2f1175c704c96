import { IamRotationEnvironmentSchema } from '../../../functions/rotate-iam-user-key/environment';
import { readEnvironment } from '../../../functions/shared/config/environment';

describe('Schema: IamRotationEnvironmentSchema', () => {
  it("reads the MinIO rotation's reader settings and the rotated user path", () => {
    // Act
    const environment = readEnvironment(IamRotationEnvironmentSchema, {
      ROTATED_IAM_USER_PATH: '/gen3-buckets/',
    });

    // Assess
    expect(environment).toMatchObject({
      ROTATED_IAM_USER_PATH: '/gen3-buckets/',
      FENCE_SECRETS_PREFIX: 'gen3/fence/',
      FENCE_SECRET_CACHE_TTL_SECONDS: 300,
      FENCE_ROTATION_MARGIN_SECONDS: 600,
    });
  });

  it.each([undefined, '/', 'gen3-buckets/', '/gen3-buckets', '/a b/'])(
    'refuses ROTATED_IAM_USER_PATH=%p at cold start (unset, the root, or not an IAM path)',
    (path) => {
      expect(() =>
        readEnvironment(
          IamRotationEnvironmentSchema,
          path === undefined ? {} : { ROTATED_IAM_USER_PATH: path },
        ),
      ).toThrow(/ROTATED_IAM_USER_PATH/);
    },
  );
});
