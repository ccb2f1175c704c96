/**
 * @sts-on-moto Vault resolves the bound role to its unique id through IAM, which only moto serves
 * here, and checks it against what STS says signed the login, in the account its own STS call
 * names: LocalStack's STS answers for another account (000000000000) and its own assumed-role
 * ids, so OpenBao refuses to even create the role.
 */

import { createSecretResolvers } from '../../../../functions/shared/backends/backend-registry';
import { SecretsEnvironmentSchema } from '../../../../functions/shared/backends/secrets-environment';
import type { AwsIdentity } from '../../../../functions/shared/backends/vault/vault-aws-auth';
import { VaultResolver } from '../../../../functions/shared/backends/vault/vault-resolver';
import { readVaultSettings } from '../../../../functions/shared/backends/vault/vault-settings';
import { readEnvironment } from '../../../../functions/shared/config/environment';
import { ConfigurationError, SecretBackendUnavailableError } from '../../../../functions/shared/errors';
import { uniqueName } from '../../support/aws';
import { uniqueSecretPath, VaultRoot } from '../../support/vault';
import {
  assumeRole,
  createAssumableRole,
  loggedInArns,
  pointAwsAuthAtEmulator,
  stsEndpoint,
} from '../../support/vault-aws';

const CANARY = `canary-${crypto.randomUUID()}`;
const SERVER_ID = 'vault.example.org';

describe('Class: AwsIamVaultAuth (Vault AWS auth, IAM type, on a real OpenBao and the AWS emulator)', () => {
  const root = VaultRoot.ofRun();
  let mount: string;
  let secretPath: string;
  let brokerRoleArn: string;
  let otherRoleArn: string;

  beforeAll(async () => {
    const prefix = `${uniqueSecretPath('aws-auth')}/`;
    secretPath = `${prefix}keys`;
    await root.writeSecret(secretPath, { access_key_id: 'vault-key', secret_access_key: CANARY });
    const policy = await root.readPolicy(prefix);
    [brokerRoleArn, otherRoleArn] = await Promise.all([
      createAssumableRole('fbb-presign'),
      createAssumableRole('someone-else'),
    ]);
    mount = await root.enableAuth('aws');
    await pointAwsAuthAtEmulator(root, mount);
    await root.call('POST', `auth/${mount}/config/client`, { iam_server_id_header_value: SERVER_ID });
    // Tokens record the ARN that signed the login, so a test can tell which credentials logged in.
    await root.call('POST', `auth/${mount}/config/identity`, { iam_metadata: ['client_arn'] });
    await root.call('POST', `auth/${mount}/role/fence-broker`, {
      auth_type: 'iam',
      bound_iam_principal_arn: [brokerRoleArn],
      token_policies: [policy],
      token_ttl: '1h',
      token_max_ttl: '24h',
    });
  });

  /** A resolver from the deployment's settings; `credentials` stands in for the SDK's chain when given. */
  const resolverWith = (
    variables: Record<string, string>,
    credentials?: () => Promise<AwsIdentity>,
  ): VaultResolver =>
    VaultResolver.fromSettings(
      readVaultSettings(
        readEnvironment(SecretsEnvironmentSchema, {
          FENCE_SECRETS_BACKEND: 'vault',
          VAULT_ADDR: root.address,
          VAULT_AUTH_METHOD: 'aws',
          VAULT_AUTH_MOUNT: mount,
          VAULT_ROLE: 'fence-broker',
          VAULT_AWS_STS_ENDPOINT: stsEndpoint(),
          ...variables,
        }),
      ),
      credentials === undefined ? {} : { awsCredentials: credentials },
    );
  const failureOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: Error) => error,
    );

  it("logs in with the function's own credentials (from the environment, as a Lambda has them) and reads through the resolvers, never logging what it signed", async () => {
    // Prepare: the assumed role's credentials where a Lambda has its execution role's.
    const identity = await assumeRole(brokerRoleArn, 'presign');
    const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;
    const saved = names.map((name) => process.env[name]);
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: identity.accessKeyId,
      AWS_SECRET_ACCESS_KEY: identity.secretAccessKey,
      AWS_SESSION_TOKEN: identity.sessionToken,
    });
    const output: string[] = [];
    const capture = (chunk: unknown) => {
      output.push(String(chunk));
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(capture),
      jest.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    let payload: Record<string, string>;
    let refusal: Error | undefined;
    try {
      const resolvers = createSecretResolvers(
        readEnvironment(SecretsEnvironmentSchema, {
          FENCE_SECRETS_BACKEND: 'vault',
          VAULT_ADDR: root.address,
          VAULT_AUTH_METHOD: 'aws',
          VAULT_AUTH_MOUNT: mount,
          VAULT_ROLE: 'fence-broker',
          VAULT_AWS_IAM_SERVER_ID: SERVER_ID,
          VAULT_AWS_STS_ENDPOINT: stsEndpoint(),
        }),
      );

      // Act
      payload = await resolvers.for('vault').get(`secret/${secretPath}`);
      refusal = await failureOf(
        resolverWith({ VAULT_ROLE: 'no-such-role', VAULT_AWS_IAM_SERVER_ID: SERVER_ID }).get(
          `secret/${secretPath}`,
        ),
      );
    } finally {
      for (const spy of spies) spy.mockRestore();
      names.forEach((name, index) => {
        if (saved[index] === undefined) delete process.env[name];
        else process.env[name] = saved[index];
      });
    }

    // Assess
    expect(payload).toEqual({ access_key_id: 'vault-key', secret_access_key: CANARY });
    expect(await loggedInArns(root, mount)).toContainEqual(
      expect.stringMatching(/:assumed-role\/fbb-presign-.+\/presign$/),
    );
    expect(refusal).toBeInstanceOf(SecretBackendUnavailableError);
    const seen = JSON.stringify({
      output,
      message: refusal?.message,
      cause: String(refusal?.cause),
      causeMessage: (refusal?.cause as Error | undefined)?.message,
    });
    for (const secret of [identity.sessionToken, identity.secretAccessKey, CANARY]) {
      expect(seen).not.toContain(secret);
    }
  });

  it('is refused for a principal the Vault role does not bind, as the other methods report a refused login', async () => {
    // Prepare
    const identity = await assumeRole(otherRoleArn, 'presign');
    const resolver = resolverWith({ VAULT_AWS_IAM_SERVER_ID: SERVER_ID }, async () => identity);

    // Act
    const error = await failureOf(resolver.get(`secret/${secretPath}`));

    // Assess
    expect(error).toBeInstanceOf(SecretBackendUnavailableError);
    expect(error?.message).toMatch(/refused the broker's aws login \(400\)/);
    expect(JSON.stringify({ message: error?.message, cause: String(error?.cause) })).not.toContain(
      identity.sessionToken,
    );
  });

  it('is refused with a server id other than the one Vault requires, and cannot be configured without one', async () => {
    // Prepare
    const identity = await assumeRole(brokerRoleArn, 'presign');
    const wrong = resolverWith({ VAULT_AWS_IAM_SERVER_ID: 'other-vault.example.org' }, async () => identity);

    // Act
    const error = await failureOf(wrong.get(`secret/${secretPath}`));
    const unconfigured = (() => {
      try {
        resolverWith({}, async () => identity);
        return undefined;
      } catch (refusal) {
        return refusal as Error;
      }
    })();

    // Assess: a signed login without a server id could be replayed to any Vault trusting the role.
    expect(error).toBeInstanceOf(SecretBackendUnavailableError);
    expect(error?.message).toMatch(/refused the broker's aws login \(400\)/);
    expect(wrong.client.counters.logins).toBe(1);
    expect(unconfigured).toBeInstanceOf(ConfigurationError);
    expect(unconfigured?.message).toMatch(/VAULT_AWS_IAM_SERVER_ID/);
  });

  it('logs in again with fresh credentials once Vault revoked its token', async () => {
    // Prepare: each login asks for credentials; each answer is a new session of the bound role.
    const sessions: string[] = [];
    const resolver = resolverWith({ VAULT_AWS_IAM_SERVER_ID: SERVER_ID }, async () => {
      const session = uniqueName(`login${sessions.length + 1}`);
      sessions.push(session);
      return assumeRole(brokerRoleArn, session);
    });
    await resolver.get(`secret/${secretPath}`);
    expect(await root.revokeTokensOf(mount)).toBeGreaterThan(0);

    // Act
    const payload = await resolver.get(`secret/${secretPath}`);

    // Assess
    expect(payload.access_key_id).toBe('vault-key');
    expect(resolver.client.counters.logins).toBe(2);
    expect(sessions).toHaveLength(2);
    expect(await loggedInArns(root, mount)).toEqual([expect.stringMatching(new RegExp(`/${sessions[1]}$`))]);
  });
});
