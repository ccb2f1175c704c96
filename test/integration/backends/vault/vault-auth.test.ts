import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecretResolvers } from '../../../../functions/shared/backends/backend-registry';
import { SecretsEnvironmentSchema } from '../../../../functions/shared/backends/secrets-environment';
import { VaultClient } from '../../../../functions/shared/backends/vault/vault-client';
import { VaultResolver } from '../../../../functions/shared/backends/vault/vault-resolver';
import { readVaultSettings } from '../../../../functions/shared/backends/vault/vault-settings';
import { readEnvironment } from '../../../../functions/shared/config/environment';
import { BucketMisconfiguredError, SecretBackendUnavailableError } from '../../../../functions/shared/errors';
import { uniqueName } from '../../support/aws';
import { ManualClock } from '../../support/counting-resolver';
import {
  configureKubernetesAuth,
  createAppRole,
  FakeTokenReview,
  uniqueSecretPath,
  VaultRoot,
} from '../../support/vault';

const CANARY = `canary-${crypto.randomUUID()}`;

describe('Class: VaultClient (logins on a real OpenBao)', () => {
  const root = VaultRoot.ofRun();
  const directory = mkdtempSync(join(tmpdir(), 'fbb-vault-auth-'));
  const file = (name: string, content: string) => {
    const path = join(directory, `${name}-${crypto.randomUUID()}`);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  let tokenReview: FakeTokenReview;
  let kubernetesMount: string;
  let approleMount: string;
  let secretPath: string;
  let policy: string;

  beforeAll(async () => {
    tokenReview = await FakeTokenReview.start();
    const prefix = `${uniqueSecretPath('auth')}/`;
    secretPath = `${prefix}keys`;
    await root.writeSecret(secretPath, { access_key_id: 'vault-key', secret_access_key: CANARY });
    policy = await root.readPolicy(prefix);
    kubernetesMount = await root.enableAuth('kubernetes');
    await configureKubernetesAuth(root, kubernetesMount, tokenReview, {
      name: 'fence-broker',
      namespace: 'gen3',
      serviceAccount: 'fence-broker',
      policies: [policy],
    });
    approleMount = await root.enableAuth('approle');
  });
  afterAll(() => tokenReview.close());

  /** A resolver built from the deployment's settings, as the presign function builds it. */
  const fromEnvironment = (variables: Record<string, string>, clock?: () => number) =>
    VaultResolver.fromSettings(
      readVaultSettings(
        readEnvironment(SecretsEnvironmentSchema, {
          FENCE_SECRETS_BACKEND: 'vault',
          VAULT_ADDR: root.address,
          ...variables,
        }),
      ),
      clock === undefined ? {} : { clock },
    );

  it('logs in with the projected service-account token (Kubernetes auth) and reads', async () => {
    // Prepare
    const resolver = fromEnvironment({
      VAULT_AUTH_METHOD: 'kubernetes',
      VAULT_AUTH_MOUNT: kubernetesMount,
      VAULT_ROLE: 'fence-broker',
      VAULT_K8S_TOKEN_FILE: file('jwt', tokenReview.issue('gen3', 'fence-broker')),
    });
    const reviewsBefore = tokenReview.reviews;

    // Act
    const payload = await resolver.get(`secret/${secretPath}`);
    await resolver.get(`secret/${secretPath}`);

    // Assess
    expect(payload.access_key_id).toBe('vault-key');
    expect(resolver.client.counters).toEqual({ logins: 1, renewals: 0 });
    expect(tokenReview.reviews - reviewsBefore).toBe(1);
  });

  it('is refused with a JWT the cluster did not issue or for another service account, and says so without the JWT', async () => {
    // Prepare
    const forged = `${tokenReview.issue('gen3', 'fence-broker').split('.').slice(0, 2).join('.')}.${CANARY}`;
    const otherAccount = tokenReview.issue('gen3', 'someone-else');
    const withJwt = (jwt: string) =>
      fromEnvironment({
        VAULT_AUTH_METHOD: 'kubernetes',
        VAULT_AUTH_MOUNT: kubernetesMount,
        VAULT_ROLE: 'fence-broker',
        VAULT_K8S_TOKEN_FILE: file('jwt', jwt),
      });

    // Act
    const errors = await Promise.all(
      [withJwt(forged), withJwt(otherAccount)].map((resolver) =>
        resolver.get(`secret/${secretPath}`).then(
          () => undefined,
          (error: Error) => error,
        ),
      ),
    );

    // Assess
    for (const error of errors) {
      expect(error).toBeInstanceOf(SecretBackendUnavailableError);
      expect(error?.message).toMatch(/refused the broker's kubernetes login/);
      expect(JSON.stringify({ message: error?.message, cause: String(error?.cause) })).not.toContain(CANARY);
    }
  });

  it('logs in with AppRole, role id from a file and secret id from the environment, through createSecretResolvers', async () => {
    // Prepare
    const { roleId, secretId } = await createAppRole(root, approleMount, 'fence-broker', [policy]);
    const resolvers = createSecretResolvers(
      readEnvironment(SecretsEnvironmentSchema, {
        FENCE_SECRETS_BACKEND: 'vault',
        VAULT_ADDR: root.address,
        VAULT_AUTH_METHOD: 'approle',
        VAULT_AUTH_MOUNT: approleMount,
        VAULT_ROLE_ID_FILE: file('role-id', `${roleId}\n`),
        VAULT_SECRET_ID: secretId,
      }),
    );

    // Act
    const payload = await resolvers.for('vault').get(`secret/${secretPath}`);

    // Assess
    expect(resolvers.backends).toEqual(['vault']);
    expect(payload).toEqual({ access_key_id: 'vault-key', secret_access_key: CANARY });
  });

  it('re-acquires a token that was revoked, on the 403 it gets, and reads on', async () => {
    // Prepare
    const { roleId, secretId } = await createAppRole(root, approleMount, 'revoked', [policy]);
    const resolver = fromEnvironment({
      VAULT_AUTH_METHOD: 'approle',
      VAULT_AUTH_MOUNT: approleMount,
      VAULT_ROLE_ID: roleId,
      VAULT_SECRET_ID_FILE: file('secret-id', secretId),
    });
    await resolver.get(`secret/${secretPath}`);
    expect(await root.revokeTokensOf(approleMount)).toBeGreaterThan(0);

    // Act
    const payload = await resolver.get(`secret/${secretPath}`);

    // Assess
    expect(payload.access_key_id).toBe('vault-key');
    expect(resolver.client.counters.logins).toBe(2);
  });

  it('renews its token once two thirds of the lease have passed, and logs in again when renewal is refused', async () => {
    // Prepare: the clock the client judges its token's age by is the test's.
    const clock = new ManualClock(Date.now());
    const resolver = fromEnvironment(
      {
        VAULT_AUTH_METHOD: 'kubernetes',
        VAULT_AUTH_MOUNT: kubernetesMount,
        VAULT_ROLE: 'fence-broker',
        VAULT_K8S_TOKEN_FILE: file('jwt', tokenReview.issue('gen3', 'fence-broker')),
      },
      clock.read,
    );
    await resolver.get(`secret/${secretPath}`);

    // Act
    clock.advance(39 * 60_000);
    await resolver.get(`secret/${secretPath}`);
    const beforeRenewal = { ...resolver.client.counters };
    clock.advance(2 * 60_000);
    await resolver.get(`secret/${secretPath}`);
    const afterRenewal = { ...resolver.client.counters };
    await root.revokeTokensOf(kubernetesMount);
    clock.advance(41 * 60_000);
    const afterRevocation = await resolver.get(`secret/${secretPath}`);

    // Assess
    expect(beforeRenewal).toEqual({ logins: 1, renewals: 0 });
    expect(afterRenewal).toEqual({ logins: 1, renewals: 1 });
    expect(afterRevocation.access_key_id).toBe('vault-key');
    expect(resolver.client.counters).toEqual({ logins: 2, renewals: 2 });
  });

  it('takes a new token from the token file when Vault refuses the old one (development)', async () => {
    // Prepare
    const tokenFile = file('token', await root.token([policy]));
    const resolver = fromEnvironment({ VAULT_AUTH_METHOD: 'token', VAULT_TOKEN_FILE: tokenFile });
    await resolver.get(`secret/${secretPath}`);
    const old = (await root.call('POST', 'auth/token/lookup', { token: readToken(tokenFile) })).body.data
      .accessor;
    await root.call('POST', 'auth/token/revoke-accessor', { accessor: old });
    writeFileSync(tokenFile, await root.token([policy]));

    // Act
    const payload = await resolver.get(`secret/${secretPath}`);

    // Assess
    expect(payload.access_key_id).toBe('vault-key');
    expect(resolver.client.counters.logins).toBe(2);
  });

  it('answers bucket_misconfigured on a path its policy does not grant, keeping its live token', async () => {
    // Prepare
    const resolver = fromEnvironment({ VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: await root.token([policy]) });

    // Act
    const outcome = resolver.get(`secret/${uniqueSecretPath('not-granted')}`);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(BucketMisconfiguredError);
    expect(resolver.client).toBeInstanceOf(VaultClient);
    expect(resolver.client.counters.logins).toBe(1);
  });

  it('leaves one live token after three reads its policy denies: no new login, nothing abandoned', async () => {
    // Prepare: an AppRole mount of its own, so the tokens counted are this client's only.
    const mount = await root.enableAuth('approle');
    const { roleId, secretId } = await createAppRole(root, mount, 'denied-reads', [policy]);
    const resolver = fromEnvironment({
      VAULT_AUTH_METHOD: 'approle',
      VAULT_AUTH_MOUNT: mount,
      VAULT_ROLE_ID: roleId,
      VAULT_SECRET_ID: secretId,
    });
    await resolver.get(`secret/${secretPath}`);
    const before = await root.liveTokensOf(mount);

    // Act
    const denied = [];
    for (let read = 0; read < 3; read++) {
      denied.push(
        await resolver.get(`secret/${uniqueSecretPath('denied')}`).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
    }
    const after = await root.liveTokensOf(mount);
    const stillReads = await resolver.get(`secret/${secretPath}`);

    // Assess
    for (const error of denied) expect(error).toBeInstanceOf(BucketMisconfiguredError);
    expect(before).toHaveLength(1);
    expect(after).toEqual(before);
    expect(resolver.client.counters.logins).toBe(1);
    expect(stillReads.access_key_id).toBe('vault-key');
  });

  it('revokes the token a new login replaces when its own policies leave out lookup-self', async () => {
    // Prepare: a role whose tokens lack Vault's default policy, so the client cannot tell a
    // denied path from a dead token and logs in again; the token it replaces must not live on.
    const mount = await root.enableAuth('approle');
    const revokeSelf = uniqueName('revoke-self');
    await root.call('PUT', `sys/policies/acl/${revokeSelf}`, {
      policy: 'path "auth/token/revoke-self" { capabilities = ["update"] }',
    });
    await root.call('POST', `auth/${mount}/role/no-default`, {
      token_policies: [policy, revokeSelf],
      token_no_default_policy: true,
      token_ttl: '1h',
    });
    const roleId = (await root.call('GET', `auth/${mount}/role/no-default/role-id`)).body.data.role_id;
    const secretId = (await root.call('POST', `auth/${mount}/role/no-default/secret-id`, {})).body.data
      .secret_id;
    const resolver = fromEnvironment({
      VAULT_AUTH_METHOD: 'approle',
      VAULT_AUTH_MOUNT: mount,
      VAULT_ROLE_ID: roleId,
      VAULT_SECRET_ID: secretId,
    });

    // Act
    for (let read = 0; read < 3; read++) {
      await resolver.get(`secret/${uniqueSecretPath('denied')}`).catch(() => undefined);
    }

    // Assess: each denied read logged in again, and only the last login's token is alive.
    expect(resolver.client.counters.logins).toBe(4);
    expect(await root.liveTokensOf(mount)).toHaveLength(1);
  });
});

function readToken(path: string): string {
  return readFileSync(path, 'utf8').trim();
}
