import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { OAuth2Client } from 'google-auth-library';
import { FakeGoogleCloud } from '../../support/fake-gcp';

/**
 * The fake Secret Manager is only worth what it shares with the real one. Its routes are those
 * of Google's published API description (the HTTP bindings of `service.proto` in the npm
 * package), and Google's own client reads its errors as it reads the real service's.
 */
describe("Fake: Secret Manager v1 against Google's API description and client", () => {
  let fake: FakeGoogleCloud;
  beforeAll(async () => {
    fake = await FakeGoogleCloud.start();
  });
  afterAll(() => fake.close());

  /** The primary HTTP binding of each RPC, e.g. AccessSecretVersion → GET /v1/{name=…}:access. */
  function httpBindings(): Map<string, { method: string; template: string }> {
    const proto = readFileSync(
      join(
        require.resolve('@google-cloud/secret-manager'),
        '../../protos/google/cloud/secretmanager/v1/service.proto',
      ),
      'utf8',
    );
    const bindings = new Map<string, { method: string; template: string }>();
    for (const match of proto.matchAll(
      /rpc (\w+)\([^)]*\)[^{]*\{\s*option \(google\.api\.http\) = \{\s*(get|post|patch|delete): "([^"]+)"/g,
    )) {
      bindings.set(String(match[1]), { method: String(match[2]).toUpperCase(), template: String(match[3]) });
    }
    return bindings;
  }

  it.each([
    ['CreateSecret', 'POST /v1/{parent=projects/*}/secrets'],
    ['GetSecret', 'GET /v1/{name=projects/*/secrets/*}'],
    ['UpdateSecret', 'PATCH /v1/{secret.name=projects/*/secrets/*}'],
    ['ListSecretVersions', 'GET /v1/{parent=projects/*/secrets/*}/versions'],
    ['AddSecretVersion', 'POST /v1/{parent=projects/*/secrets/*}:addVersion'],
    ['GetSecretVersion', 'GET /v1/{name=projects/*/secrets/*/versions/*}'],
    ['AccessSecretVersion', 'GET /v1/{name=projects/*/secrets/*/versions/*}:access'],
    ['DisableSecretVersion', 'POST /v1/{name=projects/*/secrets/*/versions/*}:disable'],
    ['EnableSecretVersion', 'POST /v1/{name=projects/*/secrets/*/versions/*}:enable'],
    ['DestroySecretVersion', 'POST /v1/{name=projects/*/secrets/*/versions/*}:destroy'],
  ])('routes %s as the API description binds it (%s)', async (rpc, binding) => {
    // Prepare
    const published = httpBindings().get(rpc);
    const token = fake.issue('user:fidelity');
    const path = String(published?.template)
      .replace(/\{[\w.]+=([^}]+)\}/, (_all, pattern: string) => pattern.replace(/\*/g, 'x'))
      .replace('projects/x/secrets', 'projects/fidelity/secrets');

    // Act
    const answer = await fetch(`${fake.url}${path}${rpc === 'CreateSecret' ? '?secretId=x' : ''}`, {
      method: String(published?.method),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(published?.method === 'POST' ? { body: '{}' } : {}),
    });
    const body = (await answer.json()) as { error?: { message?: string } };

    // Assess
    expect(`${published?.method} ${published?.template}`).toBe(binding);
    expect(String(body.error?.message ?? '')).not.toMatch(/requested URL/);
  });

  it("keeps what Google's client patches (ttl, labels) and lists versions as its client reads them", async () => {
    // Prepare
    const auth = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
    auth.setCredentials({ access_token: fake.issue('user:fidelity'), expiry_date: Date.now() + 3_600_000 });
    const google = new SecretManagerServiceClient({
      fallback: true,
      protocol: 'http',
      apiEndpoint: '127.0.0.1',
      port: Number(new URL(fake.url).port),
      authClient: auth,
    });
    const [secret] = await google.createSecret({
      parent: 'projects/fidelity',
      secretId: 'patched',
      secret: { replication: { automatic: {} }, labels: { team: 'gen3' } },
    });
    for (const data of ['{"v":"1"}', '{"v":"2"}']) {
      await google.addSecretVersion({ parent: String(secret.name), payload: { data: Buffer.from(data) } });
    }
    const before = Date.now();

    // Act
    const [patched] = await google.updateSecret({
      secret: { name: secret.name, ttl: { seconds: 86_400 } },
      updateMask: { paths: ['ttl'] },
    });
    const [versions] = await google.listSecretVersions({ parent: String(secret.name) });
    const [read] = await google.getSecret({ name: String(secret.name) });
    await google.close();

    // Assess
    const expires = Number(patched.expireTime?.seconds) * 1000;
    expect(expires).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 86_400_000 + 1000);
    expect(read.labels).toEqual({ team: 'gen3' });
    expect(versions.map((version) => [version.name, version.state])).toEqual([
      [`${secret.name}/versions/2`, 'ENABLED'],
      [`${secret.name}/versions/1`, 'ENABLED'],
    ]);
  });

  it("answers in Google's error shape, which Google's client reads as the real service's", async () => {
    // Prepare
    const auth = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
    auth.setCredentials({ access_token: fake.issue('user:fidelity'), expiry_date: Date.now() + 3_600_000 });
    const google = new SecretManagerServiceClient({
      fallback: true,
      protocol: 'http',
      apiEndpoint: '127.0.0.1',
      port: Number(new URL(fake.url).port),
      authClient: auth,
    });
    const [secret] = await google.createSecret({
      parent: 'projects/fidelity',
      secretId: 'shape',
      secret: { replication: { automatic: {} } },
    });
    await google.addSecretVersion({ parent: String(secret.name), payload: { data: Buffer.from('{}') } });
    await google.disableSecretVersion({ name: `${secret.name}/versions/1` });

    // Act
    const disabled = await google
      .accessSecretVersion({ name: `${secret.name}/versions/1` })
      .catch((error) => error);
    const missing = await google
      .getSecret({ name: 'projects/fidelity/secrets/none' })
      .catch((error) => error);
    const raw = await fetch(`${fake.url}/v1/projects/fidelity/secrets/none`, {
      headers: { authorization: `Bearer ${fake.issue('user:fidelity')}` },
    });
    await google.close();

    // Assess: gRPC codes 9 (FAILED_PRECONDITION) and 5 (NOT_FOUND), as the real service's answers map.
    expect(disabled).toMatchObject({ code: 9 });
    expect(missing).toMatchObject({ code: 5 });
    expect(await raw.json()).toEqual({
      error: { code: 404, message: expect.any(String), status: 'NOT_FOUND' },
    });
  });
});
