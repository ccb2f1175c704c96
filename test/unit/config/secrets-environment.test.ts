import { createSecretResolvers } from '../../../functions/shared/backends/backend-registry';
import { SecretsEnvironmentSchema } from '../../../functions/shared/backends/secrets-environment';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { BucketMisconfiguredError, ConfigurationError } from '../../../functions/shared/errors';

describe('Schema: SecretsEnvironment', () => {
  it('defaults to AWS Secrets Manager under gen3/fence/ with the DESIGN.md cache settings', () => {
    expect(readEnvironment(SecretsEnvironmentSchema, {})).toEqual({
      FENCE_SECRETS_BACKEND: ['aws_sm'],
      FENCE_SECRETS_PREFIX: 'gen3/fence/',
      FENCE_SECRET_CACHE_TTL_SECONDS: 300,
      FENCE_SECRET_CACHE_MAX_STALE_SECONDS: 3600,
      FENCE_SECRET_CACHE_MAX_ENTRIES: 1000,
    });
  });

  it('reads a comma-separated backend list', () => {
    const environment = readEnvironment(SecretsEnvironmentSchema, { FENCE_SECRETS_BACKEND: 'aws_sm, k8s' });
    expect(environment.FENCE_SECRETS_BACKEND).toEqual(['aws_sm', 'k8s']);
  });

  it('fails at cold start on an unknown backend or a bad number, naming the variable', () => {
    expect(() => readEnvironment(SecretsEnvironmentSchema, { FENCE_SECRETS_BACKEND: 'aws_sm,s3' })).toThrow(
      /FENCE_SECRETS_BACKEND/,
    );
    expect(() =>
      readEnvironment(SecretsEnvironmentSchema, { FENCE_SECRET_CACHE_TTL_SECONDS: 'soon' }),
    ).toThrow(ConfigurationError);
  });
});

describe('Function: createSecretResolvers', () => {
  it('wraps each configured backend in the cache and refuses records naming another backend', () => {
    const resolvers = createSecretResolvers(
      readEnvironment(SecretsEnvironmentSchema, { FENCE_SECRETS_BACKEND: 'aws_sm' }),
    );
    expect(resolvers.backends).toEqual(['aws_sm']);
    expect(resolvers.for('aws_sm').backend).toBe('aws_sm');
    expect(() => resolvers.for('vault')).toThrow(BucketMisconfiguredError);
  });

  it('refuses, at cold start, a backend named without the settings it needs', () => {
    const gcp = readEnvironment(SecretsEnvironmentSchema, { FENCE_SECRETS_BACKEND: 'gcp_sm' });
    const gcpKeyElsewhere = readEnvironment(SecretsEnvironmentSchema, {
      FENCE_SECRETS_BACKEND: 'gcp_sm',
      GCP_CREDENTIALS_SECRET: 'aws_sm:gen3/fence/admin/gcp/dev-key',
    });
    expect(() => createSecretResolvers(gcp)).toThrow(/gcp_sm, which needs GOOGLE_APPLICATION_CREDENTIALS/);
    expect(() => createSecretResolvers(gcpKeyElsewhere)).toThrow(
      /names backend aws_sm, which FENCE_SECRETS_BACKEND does not/,
    );
    expect(() =>
      readEnvironment(SecretsEnvironmentSchema, {
        FENCE_SECRETS_BACKEND: 'gcp_sm',
        GCP_CREDENTIALS_SECRET: 'gen3/key',
      }),
    ).toThrow(/GCP_CREDENTIALS_SECRET/);
  });
});
