/**
 * What the presign Lambda's entry evaluates at cold start. Module load is most of its cold start
 * (docs/performance.md), so code that only rare paths use is loaded on first use: the SDK
 * clients (role mode, admin writes), Powertools Logger (unexpected errors) and Metrics (first
 * publish), and the Vault and Google backends. Each such module is replaced by one that records
 * being loaded, in a fresh module registry, and the entry is then loaded as Lambda would.
 */
describe('Module: functions/presign/handler (cold start imports)', () => {
  const DEFERRED = [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-secrets-manager',
    '@aws-sdk/client-sts',
    '@aws-sdk/credential-provider-node',
    '@aws-lambda-powertools/logger',
    '@aws-lambda-powertools/metrics',
    '../../../functions/shared/backends/vault/vault-resolver',
    '../../../functions/shared/backends/vault/vault-client',
    '../../../functions/shared/backends/gcp/gcp-secret-manager-resolver',
    '../../../functions/shared/backends/gcp/google-credentials',
    '../../../functions/shared/backends/gcp/iam-sign-blob-signer',
  ];
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it.each([
    ['aws_sm', {}],
    ['every backend', { FENCE_SECRETS_BACKEND: 'aws_sm,k8s,vault,gcp_sm', FENCE_SECRETS_DIR: '/s' }],
  ])('loads none of the deferred modules (%s configured)', (_label, variables: Record<string, string>) => {
    // Prepare
    process.env = {
      ...saved,
      REGISTRY_TABLE_NAME: 'registry',
      AWS_REGION: 'us-east-1',
      VAULT_ADDR: 'https://vault.example.org:8200',
      VAULT_AUTH_METHOD: 'token',
      VAULT_TOKEN: 'development-token',
      GOOGLE_APPLICATION_CREDENTIALS: '/var/run/gcp/wif.json',
      ...variables,
    };
    const loaded: string[] = [];
    let handler: unknown;
    let failure: unknown;

    // Act
    jest.isolateModules(() => {
      for (const name of DEFERRED) {
        jest.doMock(name, () => {
          loaded.push(name);
          return {};
        });
      }
      try {
        ({ handler } = require('../../../functions/presign/handler'));
      } catch (error) {
        // An eager use of a stand-in fails; `loaded` names the module.
        failure = error;
      }
    });

    // Assess
    expect(loaded).toEqual([]);
    expect(failure).toBeUndefined();
    expect(typeof handler).toBe('function');
  });
});
