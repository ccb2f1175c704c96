import { SecretsEnvironmentSchema } from '../../../../functions/shared/backends/secrets-environment';
import {
  KUBERNETES_TOKEN_FILE,
  readVaultSettings,
} from '../../../../functions/shared/backends/vault/vault-settings';
import { readEnvironment } from '../../../../functions/shared/config/environment';
import { ConfigurationError } from '../../../../functions/shared/errors';

describe('Function: readVaultSettings', () => {
  const settingsOf = (variables: Record<string, string>) =>
    readVaultSettings(
      readEnvironment(SecretsEnvironmentSchema, { FENCE_SECRETS_BACKEND: 'vault', ...variables }),
    );

  it('reads Kubernetes auth with its defaults: mount kubernetes, the pod token, KV mount secret', () => {
    // Act
    const settings = settingsOf({
      VAULT_ADDR: 'https://vault.example.org:8200/',
      VAULT_NAMESPACE: 'gen3',
      VAULT_AUTH_METHOD: 'kubernetes',
      VAULT_ROLE: 'fence-broker',
    });

    // Assess
    expect(settings).toEqual({
      address: 'https://vault.example.org:8200',
      namespace: 'gen3',
      auth: {
        method: 'kubernetes',
        mount: 'kubernetes',
        role: 'fence-broker',
        tokenFile: KUBERNETES_TOKEN_FILE,
      },
      kvMount: 'secret',
    });
  });

  it('reads AppRole ids from files or values, and a token for development', () => {
    // Act
    const approle = settingsOf({
      VAULT_ADDR: 'https://vault:8200',
      VAULT_AUTH_METHOD: 'approle',
      VAULT_ROLE_ID: 'role',
      VAULT_SECRET_ID_FILE: '/run/secret-id',
      VAULT_CACERT: '/etc/vault/ca.pem',
      VAULT_KV_MOUNT: 'kv',
    });
    const token = settingsOf({
      VAULT_ADDR: 'http://127.0.0.1:8200',
      VAULT_AUTH_METHOD: 'token',
      VAULT_TOKEN_FILE: '/t',
    });

    // Assess
    expect(approle).toMatchObject({
      caCertFile: '/etc/vault/ca.pem',
      kvMount: 'kv',
      auth: {
        method: 'approle',
        mount: 'approle',
        roleId: { value: 'role' },
        secretId: { file: '/run/secret-id' },
      },
    });
    expect(token.auth).toEqual({ method: 'token', token: { file: '/t' } });
  });

  it('fails at cold start naming the missing or conflicting setting', () => {
    // Act
    const attempts = {
      address: () => settingsOf({ VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: 't' }),
      method: () => settingsOf({ VAULT_ADDR: 'https://vault:8200' }),
      role: () => settingsOf({ VAULT_ADDR: 'https://vault:8200', VAULT_AUTH_METHOD: 'kubernetes' }),
      secretId: () =>
        settingsOf({ VAULT_ADDR: 'https://vault:8200', VAULT_AUTH_METHOD: 'approle', VAULT_ROLE_ID: 'r' }),
      both: () =>
        settingsOf({
          VAULT_ADDR: 'https://vault:8200',
          VAULT_AUTH_METHOD: 'token',
          VAULT_TOKEN: 't',
          VAULT_TOKEN_FILE: '/t',
        }),
    };

    // Assess
    expect(attempts.address).toThrow(/VAULT_ADDR/);
    expect(attempts.method).toThrow(/VAULT_AUTH_METHOD/);
    expect(attempts.role).toThrow(/VAULT_ROLE/);
    expect(attempts.secretId).toThrow(/VAULT_SECRET_ID or VAULT_SECRET_ID_FILE/);
    expect(attempts.both).toThrow(/either VAULT_TOKEN or VAULT_TOKEN_FILE/);
    for (const attempt of Object.values(attempts)) expect(attempt).toThrow(ConfigurationError);
    expect(() => settingsOf({ VAULT_ADDR: 'vault:8200', VAULT_AUTH_METHOD: 'token' })).toThrow(/VAULT_ADDR/);
    expect(() => settingsOf({ VAULT_ADDR: 'https://v', VAULT_AUTH_METHOD: 'gcp' })).toThrow(
      /VAULT_AUTH_METHOD/,
    );
    expect(() => settingsOf({ VAULT_ADDR: 'https://v', VAULT_AUTH_METHOD: 'aws' })).toThrow(/VAULT_ROLE/);
    expect(() =>
      settingsOf({
        VAULT_ADDR: 'https://v',
        VAULT_AUTH_METHOD: 'aws',
        VAULT_ROLE: 'r',
        VAULT_AWS_IAM_SERVER_ID: 'vault.example.org',
        VAULT_AWS_STS_REGION: 'Frankfurt',
      }),
    ).toThrow(/VAULT_AWS_STS_REGION/);
  });

  it("reads AWS auth, signed for the STS endpoint Vault sends to: global by default, the region's when named", () => {
    // Act
    const aws = (variables: Record<string, string>) =>
      settingsOf({
        VAULT_ADDR: 'https://vault:8200',
        VAULT_AUTH_METHOD: 'aws',
        VAULT_ROLE: 'fbb',
        VAULT_AWS_IAM_SERVER_ID: 'vault.example.org',
        ...variables,
      }).auth;

    // Assess
    expect(aws({})).toEqual({
      method: 'aws',
      mount: 'aws',
      role: 'fbb',
      serverId: 'vault.example.org',
      stsUrl: 'https://sts.amazonaws.com',
      stsRegion: 'us-east-1',
    });
    expect(aws({ VAULT_AUTH_MOUNT: 'aws-lambda', VAULT_AWS_IAM_SERVER_ID: 'vault-2' })).toMatchObject({
      mount: 'aws-lambda',
      serverId: 'vault-2',
    });
    expect(aws({ VAULT_AWS_STS_REGION: 'eu-west-1' })).toMatchObject({
      stsUrl: 'https://sts.eu-west-1.amazonaws.com',
      stsRegion: 'eu-west-1',
    });
    expect(aws({ VAULT_AWS_STS_REGION: 'cn-north-1' })).toMatchObject({
      stsUrl: 'https://sts.cn-north-1.amazonaws.com.cn',
    });
    expect(aws({ VAULT_AWS_STS_ENDPOINT: 'https://sts.us-west-2.amazonaws.com/' })).toMatchObject({
      stsUrl: 'https://sts.us-west-2.amazonaws.com',
      stsRegion: 'us-west-2',
    });
    expect(
      aws({
        VAULT_AWS_STS_ENDPOINT: 'https://vpce-1.sts.eu-west-1.vpce.amazonaws.com',
        VAULT_AWS_STS_REGION: 'eu-west-1',
      }),
    ).toMatchObject({ stsUrl: 'https://vpce-1.sts.eu-west-1.vpce.amazonaws.com', stsRegion: 'eu-west-1' });
  });

  it('requires the server id with AWS auth: a signed login without one could be replayed to another Vault', () => {
    // Act / Assess
    expect(() =>
      settingsOf({ VAULT_ADDR: 'https://vault:8200', VAULT_AUTH_METHOD: 'aws', VAULT_ROLE: 'fbb' }),
    ).toThrow(/VAULT_AWS_IAM_SERVER_ID/);
  });

  it.each([
    ['VAULT_ADDR', 'http://vault.example.org:8200'],
    ['VAULT_ADDR', 'http://10.0.0.5:8200'],
    ['VAULT_ADDR', 'https://user:pw@vault.example.org'],
    ['VAULT_AWS_STS_ENDPOINT', 'http://sts.eu-west-1.amazonaws.com'],
  ])('refuses %s=%s at cold start: plain http leaves the machine', (variable, value) => {
    // Act / Assess
    expect(() =>
      settingsOf({
        VAULT_ADDR: 'https://vault:8200',
        VAULT_AUTH_METHOD: 'aws',
        VAULT_ROLE: 'fbb',
        VAULT_AWS_IAM_SERVER_ID: 'vault.example.org',
        [variable]: value,
      }),
    ).toThrow(new RegExp(`${variable} must be an https:// URL \\(plain http only to a loopback address\\)`));
  });

  it.each(['http://127.0.0.1:8200', 'http://localhost:8200', 'http://[::1]:8200'])(
    'accepts plain http to a loopback address (%s): a Vault agent beside the broker, the tests',
    (address) => {
      // Act
      const settings = settingsOf({ VAULT_ADDR: address, VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: 't' });

      // Assess
      expect(settings.address).toBe(address);
    },
  );
});
