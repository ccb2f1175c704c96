import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { externalAccountUrlProblem } from '../../../../functions/shared/backends/gcp/external-account';
import { readGcpSecretManagerSettings } from '../../../../functions/shared/backends/gcp/gcp-settings';
import { tokenExchangeFor } from '../../../../functions/shared/backends/gcp/google-credentials';
import { SecretsEnvironmentSchema } from '../../../../functions/shared/backends/secrets-environment';
import { readEnvironment } from '../../../../functions/shared/config/environment';
import { ConfigurationError } from '../../../../functions/shared/errors';

/** What `gcloud iam workload-identity-pools create-cred-config … --aws` writes. */
const GCLOUD_CONFIG = JSON.parse(
  readFileSync(join(__dirname, '../../../infra/fixtures/gcp-external-account.json'), 'utf8'),
);

describe('Function: externalAccountUrlProblem', () => {
  it("accepts gcloud's configuration: Google's STS and IAM Credentials over https", () => {
    expect(externalAccountUrlProblem(GCLOUD_CONFIG, { allowLoopback: false })).toBeUndefined();
    const { service_account_impersonation_url: _, ...direct } = GCLOUD_CONFIG;
    expect(externalAccountUrlProblem(direct, { allowLoopback: false })).toBeUndefined();
  });

  it.each([
    ['token_url', 'http://sts.googleapis.com/v1/token'],
    ['token_url', 'https://sts.googleapis.com.attacker.example/v1/token'],
    ['token_url', 'https://attacker.example/v1/token'],
    ['token_url', 'https://sts.googleapis.com:8443/v1/token'],
    ['token_url', 'https://user@sts.googleapis.com/v1/token'],
    ['token_url', 'http://127.0.0.1:9000/v1/token'],
    [
      'service_account_impersonation_url',
      'https://attacker.example/v1/projects/-/serviceAccounts/x@p.iam.gserviceaccount.com:generateAccessToken',
    ],
    [
      'service_account_impersonation_url',
      'http://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/x@p.iam.gserviceaccount.com:generateAccessToken',
    ],
    ['service_account_impersonation_url', 'https://iamcredentials.googleapis.com/v1/other'],
  ])('refuses %s = %s: the signed AWS request or the federated token would go elsewhere', (field, url) => {
    // Act
    const problem = externalAccountUrlProblem({ ...GCLOUD_CONFIG, [field]: url }, { allowLoopback: false });

    // Assess
    expect(problem).toMatch(new RegExp(`^${field} must be Google's https://`));
  });

  it('accepts loopback URLs (a fake of Google) only when explicitly allowed, and nothing else more', () => {
    // Prepare
    const fake = {
      token_url: 'http://127.0.0.1:9000/v1/token',
      service_account_impersonation_url:
        'http://127.0.0.1:9000/v1/projects/-/serviceAccounts/x@p.iam.gserviceaccount.com:generateAccessToken',
    };

    // Act / Assess
    expect(externalAccountUrlProblem(fake, { allowLoopback: true })).toBeUndefined();
    expect(externalAccountUrlProblem(fake, { allowLoopback: false })).toMatch(/token_url/);
    expect(
      externalAccountUrlProblem({ ...fake, token_url: 'http://10.0.0.5/v1/token' }, { allowLoopback: true }),
    ).toMatch(/token_url/);
  });
});

describe('Function: tokenExchangeFor', () => {
  it('refuses an external account whose token URL is not Google, before sending anything', () => {
    expect(() =>
      tokenExchangeFor({ ...GCLOUD_CONFIG, token_url: 'https://attacker.example/v1/token' }),
    ).toThrow(ConfigurationError);
  });

  it('refuses a service-account key whose token_uri is plain http off the machine: the signed assertion is a credential', async () => {
    // Prepare
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const exchange = tokenExchangeFor({
      type: 'service_account',
      client_email: 'dev@p.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      token_uri: 'http://oauth2.example.org/token',
    });

    // Act / Assess
    await expect(exchange.fetch(Date.now() + 1000)).rejects.toThrow(/token_uri that is not https/);
  });
});

describe('Function: readGcpSecretManagerSettings (transport)', () => {
  const settingsOf = (variables: Record<string, string>) =>
    readGcpSecretManagerSettings(
      readEnvironment(SecretsEnvironmentSchema, {
        FENCE_SECRETS_BACKEND: 'gcp_sm',
        GOOGLE_APPLICATION_CREDENTIALS: '/var/task/google-external-account.json',
        ...variables,
      }),
    );

  it.each([
    ['GCP_SECRET_MANAGER_ENDPOINT', 'http://secretmanager.googleapis.com'],
    ['GCP_SECRET_MANAGER_ENDPOINT', 'http://192.168.1.10:8080'],
    ['GCP_IAM_CREDENTIALS_ENDPOINT', 'http://iamcredentials.googleapis.com'],
  ])(
    'refuses %s=%s at cold start: the bearer token would cross a network in the clear',
    (variable, value) => {
      expect(() => settingsOf({ [variable]: value })).toThrow(
        new RegExp(`${variable} must be an https:// URL \\(plain http only to a loopback address\\)`),
      );
    },
  );

  it('accepts a loopback fake, and reads the function’s own service account and the loopback allowance', () => {
    // Act
    const settings = settingsOf({
      GCP_SECRET_MANAGER_ENDPOINT: 'http://127.0.0.1:9000',
      GCP_IAM_CREDENTIALS_ENDPOINT: 'http://127.0.0.1:9000',
      GCP_IMPERSONATE_SERVICE_ACCOUNT: 'fence-presign@gen3-data.iam.gserviceaccount.com',
      GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK: 'true',
    });

    // Assess
    expect(settings.endpoint).toBe('http://127.0.0.1:9000');
    expect(settings.identity).toEqual({
      allowLoopbackEndpoints: true,
      serviceAccount: 'fence-presign@gen3-data.iam.gserviceaccount.com',
      iamCredentialsEndpoint: 'http://127.0.0.1:9000',
    });
    expect(settingsOf({}).identity).toEqual({ allowLoopbackEndpoints: false });
  });
});
