import { SecretsEnvironmentSchema } from '../../../functions/shared/backends/secrets-environment';
import { readEnvironment } from '../../../functions/shared/config/environment';

/**
 * Backends a deployment does not name are never loaded, and those it names load on first use.
 * Each case gets a fresh module registry in which the Vault resolver module is replaced by one
 * that records being loaded.
 */
describe('Function: createSecretResolvers (lazy backends)', () => {
  function isolated() {
    const loads: string[] = [];
    let createSecretResolvers!: typeof import('../../../functions/shared/backends/backend-registry').createSecretResolvers;
    jest.isolateModules(() => {
      jest.doMock('../../../functions/shared/backends/gcp/gcp-secret-manager-resolver', () => {
        loads.push('gcp-secret-manager-resolver');
        return {
          GcpSecretManagerResolver: {
            fromSettings: () => ({
              backend: 'gcp_sm',
              get: async () => ({ loaded: 'gcp' }),
              put: async () => '1',
            }),
          },
        };
      });
      jest.doMock('../../../functions/shared/backends/vault/vault-resolver', () => {
        loads.push('vault-resolver');
        return {
          VaultResolver: {
            fromSettings: () => ({
              backend: 'vault',
              get: async () => ({ loaded: 'yes' }),
              put: async () => '1',
            }),
          },
        };
      });
      ({ createSecretResolvers } = require('../../../functions/shared/backends/backend-registry'));
    });
    return { loads, createSecretResolvers };
  }
  const vaultVariables = { VAULT_ADDR: 'https://vault:8200', VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: 't' };

  it('never loads the Vault or GCP Secret Manager backends in a deployment that does not name them', async () => {
    // Prepare
    const { loads, createSecretResolvers } = isolated();

    // Act
    const resolvers = createSecretResolvers(
      readEnvironment(SecretsEnvironmentSchema, {
        FENCE_SECRETS_BACKEND: 'aws_sm,k8s',
        FENCE_SECRETS_DIR: '/s',
      }),
    );

    // Assess
    expect(resolvers.backends).toEqual(['aws_sm', 'k8s']);
    expect(loads).toEqual([]);
  });

  it('checks the Vault settings at cold start but loads its code only on the first read', async () => {
    // Prepare
    const { loads, createSecretResolvers } = isolated();
    const resolvers = createSecretResolvers(
      readEnvironment(SecretsEnvironmentSchema, { FENCE_SECRETS_BACKEND: 'vault', ...vaultVariables }),
    );
    const beforeRead = [...loads];

    // Act
    const payload = await resolvers.for('vault').get('secret/gen3/fence/a');

    // Assess
    expect(beforeRead).toEqual([]);
    expect(loads).toEqual(['vault-resolver']);
    expect(resolvers.backends).toEqual(['vault']);
    expect(payload).toEqual({ loaded: 'yes' });
    expect(() =>
      createSecretResolvers(readEnvironment(SecretsEnvironmentSchema, { FENCE_SECRETS_BACKEND: 'vault' })),
    ).toThrow(/VAULT_ADDR/);
  });

  it('loads GCP Secret Manager on its first read only, and only it', async () => {
    // Prepare
    const { loads, createSecretResolvers } = isolated();
    const resolvers = createSecretResolvers(
      readEnvironment(SecretsEnvironmentSchema, {
        FENCE_SECRETS_BACKEND: 'gcp_sm',
        GOOGLE_APPLICATION_CREDENTIALS: '/var/run/gcp/wif.json',
      }),
    );
    const beforeRead = [...loads];

    // Act
    const payload = await resolvers.for('gcp_sm').get('projects/p/secrets/s');

    // Assess
    expect(beforeRead).toEqual([]);
    expect(loads).toEqual(['gcp-secret-manager-resolver']);
    expect(payload).toEqual({ loaded: 'gcp' });
  });

  it('loads the GCS workload-identity signer only when a bucket first signs', async () => {
    // Prepare
    const loads: string[] = [];
    let workloadIdentitySigners!: typeof import('../../../functions/shared/backends/gcp/workload-identity-signers').workloadIdentitySigners;
    jest.isolateModules(() => {
      jest.doMock('../../../functions/shared/backends/gcp/iam-sign-blob-signer', () => {
        loads.push('iam-sign-blob-signer');
        return {
          IamSignBlobSigner: class {
            sign = async () => Buffer.from('signature');
          },
        };
      });
      jest.doMock('../../../functions/shared/backends/gcp/google-credentials', () => {
        loads.push('google-credentials');
        return { credentialsFileExchange: () => ({}), GoogleAccessTokens: class {} };
      });
      ({
        workloadIdentitySigners,
      } = require('../../../functions/shared/backends/gcp/workload-identity-signers'));
    });
    const signers = workloadIdentitySigners({ GOOGLE_APPLICATION_CREDENTIALS: '/var/run/gcp/wif.json' });
    const signer = signers?.signerFor('reader@p.iam.gserviceaccount.com');
    const beforeSigning = [...loads];

    // Act
    const signature = await signer?.sign('string to sign');

    // Assess
    expect(workloadIdentitySigners({})).toBeUndefined();
    expect(signer?.email).toBe('reader@p.iam.gserviceaccount.com');
    expect(beforeSigning).toEqual([]);
    expect(loads.sort()).toEqual(['google-credentials', 'iam-sign-blob-signer']);
    expect(signature?.toString()).toBe('signature');
  });
});
