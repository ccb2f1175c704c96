import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { OAuth2Client } from 'google-auth-library';
import { createSecretResolvers } from '../../../../functions/shared/backends/backend-registry';
import { GcpSecretManagerResolver } from '../../../../functions/shared/backends/gcp/gcp-secret-manager-resolver';
import {
  GoogleAccessTokens,
  ServiceAccountKeyExchange,
} from '../../../../functions/shared/backends/gcp/google-credentials';
import { SecretsEnvironmentSchema } from '../../../../functions/shared/backends/secrets-environment';
import { readEnvironment } from '../../../../functions/shared/config/environment';
import {
  BucketMisconfiguredError,
  SecretBackendUnavailableError,
  SecretNotFoundError,
} from '../../../../functions/shared/errors';
import { CachingSecretResolver } from '../../../../functions/shared/secrets/caching-secret-resolver';
import { uniqueName } from '../../support/aws';
import { ManualClock } from '../../support/counting-resolver';
import { FakeGoogleCloud } from '../../support/fake-gcp';

const CANARY = `canary-${crypto.randomUUID()}`;

/** The error `call` fails with (undefined if it succeeds), caught at once. */
const failure = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (error: Error) => error,
  );

describe('Class: GcpSecretManagerResolver (REST, on a fake Secret Manager driven by the real npm client too)', () => {
  let fake: FakeGoogleCloud;
  /** Google's own client (HTTP/JSON fallback) writing and changing secrets in the fake. */
  let google: SecretManagerServiceClient;
  let resolver: GcpSecretManagerResolver;
  const directory = mkdtempSync(join(tmpdir(), 'fbb-gcp-'));

  beforeAll(async () => {
    fake = await FakeGoogleCloud.start();
    // gaxios loads node-fetch by a dynamic import, which jest's VM refuses: hand it Node's fetch.
    const auth = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
    auth.setCredentials({ access_token: fake.issue('user:operator'), expiry_date: Date.now() + 3_600_000 });
    google = new SecretManagerServiceClient({
      fallback: true,
      protocol: 'http',
      apiEndpoint: '127.0.0.1',
      port: Number(new URL(fake.url).port),
      authClient: auth,
    });
    resolver = new GcpSecretManagerResolver({
      endpoint: fake.url,
      tokens: new GoogleAccessTokens(new ServiceAccountKeyExchange(fake.serviceAccountKey())),
    });
  });
  afterAll(async () => {
    await google.close();
    await fake.close();
  });

  /** A secret created and given versions by Google's client; returns its ref. */
  async function secretWith(...payloads: Record<string, string>[]): Promise<string> {
    const [secret] = await google.createSecret({
      parent: 'projects/gen3-project',
      secretId: uniqueName('fence'),
      secret: { replication: { automatic: {} } },
    });
    for (const payload of payloads) {
      await google.addSecretVersion({
        parent: String(secret.name),
        payload: { data: Buffer.from(JSON.stringify(payload)) },
      });
    }
    return String(secret.name);
  }

  it("reads the latest version and a pinned version of what Google's client wrote", async () => {
    // Prepare
    const ref = await secretWith(
      { access_key_id: 'first', secret_access_key: CANARY },
      { access_key_id: 'second', secret_access_key: CANARY },
    );

    // Act
    const latest = await resolver.get(ref);
    const pinned = await resolver.get(ref, '1');
    const byName = await resolver.get(ref, 'latest');

    // Assess
    expect(ref).toMatch(/^projects\/gen3-project\/secrets\/fence-/);
    expect(latest).toEqual({ access_key_id: 'second', secret_access_key: CANARY });
    expect(pinned.access_key_id).toBe('first');
    expect(byName).toEqual(latest);
  });

  it('serves a new version once the cache TTL has passed', async () => {
    // Prepare
    const ref = await secretWith({ access_key_id: 'before', secret_access_key: 's' });
    const clock = new ManualClock();
    const cached = new CachingSecretResolver(resolver, { ttlMs: 300_000, jitter: 0, clock: clock.read });
    await cached.get(ref);
    await google.addSecretVersion({
      parent: ref,
      payload: { data: Buffer.from('{"access_key_id":"after","secret_access_key":"s"}') },
    });

    // Act
    clock.advance(299_999);
    const withinTtl = await cached.get(ref);
    clock.advance(2);
    const pastTtl = await cached.get(ref);

    // Assess
    expect(withinTtl.access_key_id).toBe('before');
    expect(pastTtl.access_key_id).toBe('after');
  });

  it('answers disabled and destroyed versions with a clear not-found, and reads a version enabled again', async () => {
    // Prepare
    const ref = await secretWith(
      { access_key_id: 'v1', secret_access_key: 's' },
      { access_key_id: 'v2', secret_access_key: 's' },
      { access_key_id: 'v3', secret_access_key: 's' },
    );
    await google.disableSecretVersion({ name: `${ref}/versions/1` });
    await google.destroySecretVersion({ name: `${ref}/versions/2` });
    await google.disableSecretVersion({ name: `${ref}/versions/3` });

    // Act
    const [disabled, destroyed, latest, missing, beyond] = await Promise.all([
      failure(resolver.get(ref, '1')),
      failure(resolver.get(ref, '2')),
      failure(resolver.get(ref)),
      failure(resolver.get('projects/gen3-project/secrets/no-such-secret')),
      failure(resolver.get(ref, '9')),
    ]);
    await google.enableSecretVersion({ name: `${ref}/versions/3` });
    const enabled = await resolver.get(ref);

    // Assess
    expect(disabled?.message).toMatch(/version 1 is disabled/);
    expect(destroyed?.message).toMatch(/version 2 is destroyed/);
    expect(latest?.message).toMatch(/its latest version is disabled/);
    for (const error of [disabled, destroyed, latest, missing, beyond]) {
      expect(error).toBeInstanceOf(SecretNotFoundError);
      expect(error).toMatchObject({ code: 'bucket_misconfigured', status: 502 });
    }
    expect(enabled.access_key_id).toBe('v3');
  });

  it("put adds a version (creating the secret when it is missing), which Google's client reads back", async () => {
    // Prepare
    const ref = `projects/gen3-project/secrets/${uniqueName('put')}`;

    // Act
    const first = await resolver.put(ref, { access_key_id: 'one', secret_access_key: CANARY });
    const second = await resolver.put(ref, { access_key_id: 'two', secret_access_key: CANARY });
    const [accessed] = await google.accessSecretVersion({ name: `${ref}/versions/latest` });

    // Assess
    expect([first, second]).toEqual(['1', '2']);
    expect(JSON.parse(Buffer.from(accessed.payload?.data as Uint8Array).toString('utf8'))).toEqual({
      access_key_id: 'two',
      secret_access_key: CANARY,
    });
  });

  it('refuses refs and pins Secret Manager cannot have, and answers a denied secret with bucket_misconfigured', async () => {
    // Prepare
    const ref = await secretWith({ access_key_id: 'k', secret_access_key: CANARY });
    fake.allow = (principal) => principal === 'user:operator';

    // Act
    const errors = await Promise.all([
      failure(resolver.get('gen3/fence/minio/b')),
      failure(resolver.get(ref, 'AWSCURRENT')),
      failure(resolver.get(ref)),
    ]);
    fake.allow = undefined;

    // Assess
    for (const error of errors) expect(error).toBeInstanceOf(BucketMisconfiguredError);
    expect(errors[2]?.message).toMatch(/denied by Secret Manager/);
    expect(JSON.stringify(errors.map((error) => error?.message))).not.toContain(CANARY);
  });

  it('takes a new token when Secret Manager refuses a revoked one, and reads on', async () => {
    // Prepare
    const ref = await secretWith({ access_key_id: 'k', secret_access_key: 's' });
    const tokens = new GoogleAccessTokens(new ServiceAccountKeyExchange(fake.serviceAccountKey()));
    const own = new GcpSecretManagerResolver({ endpoint: fake.url, tokens });
    await own.get(ref);
    fake.revokeTokens();

    // Act
    const payload = await own.get(ref);

    // Assess
    expect(payload.access_key_id).toBe('k');
    expect(tokens.exchanges).toBe(2);
  });

  it('refuses a key whose signature Google cannot verify, naming the account and never the key', async () => {
    // Prepare
    const ref = await secretWith({ access_key_id: 'k', secret_access_key: 's' });
    const key = fake.serviceAccountKey();
    const forged = { ...key, private_key: fake.serviceAccountKey().private_key };
    const own = new GcpSecretManagerResolver({
      endpoint: fake.url,
      tokens: new GoogleAccessTokens(new ServiceAccountKeyExchange(forged)),
    });

    // Act
    const error = await failure(own.get(ref));

    // Assess
    expect(error).toBeInstanceOf(SecretBackendUnavailableError);
    expect(error?.message).toContain(
      `could not get a Google access token (service account ${key.client_email})`,
    );
    expect(JSON.stringify({ message: error?.message, cause: String(error?.cause) })).not.toContain(
      'PRIVATE KEY',
    );
  });

  it('reads with a service-account key held in another backend (k8s files), through createSecretResolvers', async () => {
    // Prepare
    const ref = await secretWith({ access_key_id: 'from-dev-key', secret_access_key: 's' });
    const secretsDir = join(directory, uniqueName('files'));
    const keyFile = join(secretsDir, 'gcp/dev-key');
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(
      keyFile,
      JSON.stringify({ service_account_key_json: JSON.stringify(fake.serviceAccountKey()) }),
    );
    const resolvers = createSecretResolvers(
      readEnvironment(SecretsEnvironmentSchema, {
        FENCE_SECRETS_BACKEND: 'gcp_sm,k8s',
        FENCE_SECRETS_DIR: secretsDir,
        GCP_SECRET_MANAGER_ENDPOINT: fake.url,
        GCP_CREDENTIALS_SECRET: 'k8s:gcp/dev-key',
      }),
    );

    // Act
    const payload = await resolvers.for('gcp_sm').get(ref);

    // Assess
    expect(payload.access_key_id).toBe('from-dev-key');
    expect(fake.calls).toContain('POST /token');
  });

  it("reads with workload identity federation from AWS: the Lambda role's signed GetCallerIdentity, Google STS, then impersonation", async () => {
    // Prepare: moto plays AWS STS (the fake sends the signed request on to it).
    const ref = await secretWith({ access_key_id: 'federated', secret_access_key: 's' });
    const account = `fence-reader-${crypto.randomUUID().slice(0, 6)}@gen3-project.iam.gserviceaccount.com`;
    fake.grantImpersonation(account, 'aws:arn:aws:sts::123456789012:user/moto');
    const configFile = join(directory, `${uniqueName('wif')}.json`);
    writeFileSync(
      configFile,
      JSON.stringify(
        fake.externalAccountConfig({ awsStsUrl: `${process.env.AWS_ENDPOINT_URL}/`, impersonate: account }),
      ),
    );
    const principals: string[] = [];
    fake.allow = (principal) => {
      principals.push(principal);
      return principal === `serviceAccount:${account}`;
    };
    const resolvers = createSecretResolvers(
      readEnvironment(SecretsEnvironmentSchema, {
        FENCE_SECRETS_BACKEND: 'gcp_sm',
        GCP_SECRET_MANAGER_ENDPOINT: fake.url,
        GOOGLE_APPLICATION_CREDENTIALS: configFile,
        GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK: 'true',
      }),
    );

    // Act
    const payload = await resolvers
      .for('gcp_sm')
      .get(ref)
      .finally(() => {
        fake.allow = undefined;
      });

    // Assess
    expect(payload.access_key_id).toBe('federated');
    expect(principals).toEqual([`serviceAccount:${account}`]);
    expect(fake.calls).toEqual(
      expect.arrayContaining([
        'POST /v1/token',
        `POST /v1/projects/-/serviceAccounts/${account}:generateAccessToken`,
      ]),
    );
  });

  it('stops serving a cached secret once its TTL is over when Secret Manager starts answering PERMISSION_DENIED', async () => {
    // Prepare: a fake of this test's own, whose access rule the test narrows after the cache is warm.
    const own = await FakeGoogleCloud.start();
    const ownGoogle = new GcpSecretManagerResolver({
      endpoint: own.url,
      tokens: new GoogleAccessTokens(new ServiceAccountKeyExchange(own.serviceAccountKey())),
    });
    const ref = `projects/gen3-project/secrets/${uniqueName('denied')}`;
    await ownGoogle.put(ref, { access_key_id: 'warm', secret_access_key: CANARY });
    const clock = new ManualClock();
    const cached = new CachingSecretResolver(ownGoogle, {
      ttlMs: 300_000,
      jitter: 0,
      maxStaleMs: 3_600_000,
      clock: clock.read,
    });
    await cached.get(ref);

    // Act
    own.allow = () => false;
    clock.advance(299_999);
    const withinTtl = await cached.get(ref);
    clock.advance(2);
    const afterTtl = await failure(cached.get(ref));
    await own.close();

    // Assess
    expect(withinTtl.access_key_id).toBe('warm');
    expect(afterTtl).toBeInstanceOf(BucketMisconfiguredError);
    expect(afterTtl).toMatchObject({ code: 'bucket_misconfigured', transient: false });
    expect(cached.stats().staleServes).toBe(0);
  }, 60_000);

  it('serves the stale value while Secret Manager is down, until max_stale, then secret_backend_unavailable', async () => {
    // Prepare: a fake of this test's own, closed after the cache is warm.
    const own = await FakeGoogleCloud.start();
    const ownGoogle = new GcpSecretManagerResolver({
      endpoint: own.url,
      tokens: new GoogleAccessTokens(new ServiceAccountKeyExchange(own.serviceAccountKey())),
    });
    const ref = `projects/gen3-project/secrets/${uniqueName('outage')}`;
    await ownGoogle.put(ref, { access_key_id: 'warm', secret_access_key: 's' });
    const clock = new ManualClock();
    const cached = new CachingSecretResolver(ownGoogle, {
      ttlMs: 300_000,
      jitter: 0,
      maxStaleMs: 3_600_000,
      clock: clock.read,
    });
    await cached.get(ref);
    await own.close();

    // Act
    clock.advance(300_001);
    const afterTtl = await cached.get(ref);
    clock.advance(3_600_000 - 300_001);
    const atMaxStale = await cached.get(ref);
    clock.advance(1);
    const pastMaxStale = await failure(cached.get(ref));

    // Assess
    expect(afterTtl.access_key_id).toBe('warm');
    expect(atMaxStale.access_key_id).toBe('warm');
    expect(pastMaxStale).toBeInstanceOf(SecretBackendUnavailableError);
    expect(pastMaxStale).toMatchObject({ code: 'secret_backend_unavailable', status: 503 });
  }, 60_000);
});
