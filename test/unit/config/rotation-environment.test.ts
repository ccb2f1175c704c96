import { RotationEnvironmentSchema } from '../../../functions/rotate-minio-key/environment';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { ConfigurationError } from '../../../functions/shared/errors';

describe('Schema: RotationEnvironment', () => {
  it("defaults to the presign function's reader settings, no registry, and https only", () => {
    expect(readEnvironment(RotationEnvironmentSchema, {})).toEqual({
      FENCE_SECRETS_PREFIX: 'gen3/fence/',
      FENCE_SECRET_CACHE_TTL_SECONDS: 300,
      FENCE_SECRET_CACHE_MAX_STALE_SECONDS: 3600,
      FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS: 3600,
      FENCE_ROTATION_MARGIN_SECONDS: 600,
      FENCE_ALLOW_INSECURE_MINIO_HTTP: false,
    });
  });

  it('opts in to http only with the exact word true, and fails at cold start on anything else', () => {
    expect(
      readEnvironment(RotationEnvironmentSchema, { FENCE_ALLOW_INSECURE_MINIO_HTTP: 'true' })
        .FENCE_ALLOW_INSECURE_MINIO_HTTP,
    ).toBe(true);
    expect(
      readEnvironment(RotationEnvironmentSchema, { FENCE_ALLOW_INSECURE_MINIO_HTTP: 'false' })
        .FENCE_ALLOW_INSECURE_MINIO_HTTP,
    ).toBe(false);
    expect(() =>
      readEnvironment(RotationEnvironmentSchema, { FENCE_ALLOW_INSECURE_MINIO_HTTP: 'yes' }),
    ).toThrow(/FENCE_ALLOW_INSECURE_MINIO_HTTP/);
    expect(() => readEnvironment(RotationEnvironmentSchema, { FENCE_ROTATION_MARGIN_SECONDS: '-1' })).toThrow(
      ConfigurationError,
    );
  });
});
