import { GcpSecretManagerAdministration } from '../../../../functions/shared/backends/gcp/gcp-secret-manager-administration';
import { GcpSecretManagerResolver } from '../../../../functions/shared/backends/gcp/gcp-secret-manager-resolver';
import {
  GoogleAccessTokens,
  ServiceAccountKeyExchange,
} from '../../../../functions/shared/backends/gcp/google-credentials';
import {
  InvalidSecretError,
  RotationNotConfiguredError,
  SecretExistsError,
} from '../../../../functions/shared/errors';
import { uniqueName } from '../../support/aws';
import { FakeGoogleCloud } from '../../support/fake-gcp';

const CANARY = `canary-${crypto.randomUUID()}`;
const DAY_MS = 86_400_000;

/** The error `call` fails with (undefined if it succeeds), caught at once. */
const failure = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (error: Error) => error,
  );

describe('Class: GcpSecretManagerAdministration (REST, on the fake Secret Manager)', () => {
  let fake: FakeGoogleCloud;
  let admin: GcpSecretManagerAdministration;
  let resolver: GcpSecretManagerResolver;
  const options = {
    tags: {
      'fence-bucket-broker:bucket': 'data.example.org',
      'fence-bucket-broker:created-by': 'arn:aws:iam::123456789012:role/gen3-admin',
    },
    description: 'Credentials of bucket data.example.org (fence-bucket-broker)',
  };

  beforeAll(async () => {
    fake = await FakeGoogleCloud.start();
    const tokens = new GoogleAccessTokens(new ServiceAccountKeyExchange(fake.serviceAccountKey()));
    resolver = new GcpSecretManagerResolver({ endpoint: fake.url, tokens });
    admin = new GcpSecretManagerAdministration({ endpoint: fake.url, tokens, project: 'gen3-project' });
  });
  afterAll(() => fake.close());

  it('creates a secret under the id its name maps to, labelled, with the payload as version 1; describe finds it', async () => {
    // Prepare
    const name = `gen3/fence/gcp/${uniqueName('b')}.example.org`;

    // Act
    const created = await admin.create(name, { service_account_key_json: CANARY }, options);
    const described = await admin.describe(created.ref);
    const resource = fake.secretResource(created.ref);

    // Assess
    expect(created).toMatchObject({
      ref: `projects/gen3-project/secrets/${name.replaceAll('/', '--').replaceAll('.', '__')}`,
      name,
      rotationEnabled: false,
      versions: [{ id: '1', stages: ['latest'] }],
    });
    expect(described).toMatchObject({ ref: created.ref, name, rotationEnabled: false });
    expect(described?.versions).toEqual([{ id: '1', stages: ['latest'] }]);
    expect(described?.createdAt).toBeInstanceOf(Date);
    expect(resource).toMatchObject({
      replication: { automatic: {} },
      labels: {
        'fence-bucket-broker_bucket': 'data_example_org',
        'fence-bucket-broker_created-by': 'arn_aws_iam__123456789012_role_gen3-admin',
      },
      annotations: {
        'fence-bucket-broker_created-by': 'arn:aws:iam::123456789012:role/gen3-admin',
        description: options.description,
      },
    });
    expect(await resolver.get(created.ref)).toEqual({ service_account_key_json: CANARY });
    expect(JSON.stringify([created, described, resource])).not.toContain(CANARY);
  });

  it('creates with a customer-managed key when given one, and describes the key', async () => {
    // Prepare
    const kmsKeyId = 'projects/gen3-project/locations/global/keyRings/fence/cryptoKeys/secrets';

    // Act
    const created = await admin.create(
      `gen3/fence/gcp/${uniqueName('kms')}`,
      { service_account_key_json: '{}' },
      { ...options, kmsKeyId },
    );

    // Assess
    expect(fake.secretResource(created.ref)?.replication).toEqual({
      automatic: { customerManagedEncryption: { kmsKeyName: kmsKeyId } },
    });
    expect(await admin.describe(created.ref)).toMatchObject({ kmsKeyId });
  });

  it('refuses a name that is taken (secret_exists) and one no secret id can carry (invalid_secret), writing nothing', async () => {
    // Prepare
    const name = `gen3/fence/gcp/${uniqueName('taken')}`;
    const first = await admin.create(name, { service_account_key_json: 'one' }, options);

    // Act
    const taken = await failure(admin.create(name, { service_account_key_json: CANARY }, options));
    const unmappable = await failure(admin.create('gen3/fence/gcp/a--b', { k: CANARY }, options));

    // Assess
    expect(taken).toBeInstanceOf(SecretExistsError);
    expect(unmappable).toBeInstanceOf(InvalidSecretError);
    expect(fake.versionStates(first.ref)).toEqual({ '1': 'ENABLED' });
    expect(fake.secretResource('projects/gen3-project/secrets/gen3--fence--gcp--a--b')).toBeUndefined();
    expect(`${taken?.message} ${unmappable?.message}`).not.toContain(CANARY);
  });

  it('lists enabled versions only (newest first, latest on the newest), across pages; a secret without one, or none at all, is undefined', async () => {
    // Prepare
    const created = await admin.create(`gen3/fence/gcp/${uniqueName('versions')}`, { v: '1' }, options);
    for (let version = 2; version <= 260; version++) await resolver.put(created.ref, { v: String(version) });
    const token = fake.issue('user:operator');
    const disable = (version: number) =>
      fetch(`${fake.url}/v1/${created.ref}/versions/${version}:disable`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
    await disable(2);
    await disable(260);
    const empty = await admin.create(`gen3/fence/gcp/${uniqueName('empty')}`, { v: '1' }, options);
    await fetch(`${fake.url}/v1/${empty.ref}/versions/1:disable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });

    // Act
    const described = await admin.describe(created.ref);
    const noEnabled = await admin.describe(empty.ref);
    const missing = await admin.describe('projects/gen3-project/secrets/gen3--fence--gcp--none');

    // Assess: 258 of 260 enabled; the newest (260) is disabled, so no version is `latest`.
    expect(described?.versions).toHaveLength(258);
    expect(described?.versions[0]).toEqual({ id: '259', stages: [] });
    expect(described?.versions.at(-1)).toEqual({ id: '1', stages: [] });
    expect(described?.versions.map((version) => version.id)).not.toContain('2');
    expect(noEnabled).toBeUndefined();
    expect(missing).toBeUndefined();
  });

  it('describes a rotation schedule as rotation enabled, and refuses to rotate (rotation_not_configured) either way', async () => {
    // Prepare
    const plain = await admin.create(`gen3/fence/gcp/${uniqueName('plain')}`, { v: '1' }, options);
    const scheduled = await admin.create(`gen3/fence/gcp/${uniqueName('scheduled')}`, { v: '1' }, options);
    fake.updateSecret(scheduled.ref, {
      rotation: { rotationPeriod: '2592000s', nextRotationTime: new Date(Date.now() + DAY_MS).toISOString() },
    });

    // Act
    const described = await admin.describe(scheduled.ref);
    const rotatedPlain = await failure(admin.rotate(plain.ref));
    const rotatedScheduled = await failure(admin.rotate(scheduled.ref));

    // Assess
    expect(described).toMatchObject({ rotationEnabled: true, rotationRules: { automaticallyAfterDays: 30 } });
    expect(rotatedPlain).toBeInstanceOf(RotationNotConfiguredError);
    expect(rotatedScheduled).toBeInstanceOf(RotationNotConfiguredError);
    expect(rotatedScheduled?.message).toContain('add a new version instead');
  });

  it('removes by disabling every version and setting the secret to expire after the recovery window, never deleting it at once', async () => {
    // Prepare
    const created = await admin.create(`gen3/fence/gcp/${uniqueName('removed')}`, { v: CANARY }, options);
    await resolver.put(created.ref, { v: 'two' });
    const before = Date.now();

    // Act
    await admin.remove(created.ref, 7);
    const read = await failure(resolver.get(created.ref));
    const again = await failure(admin.remove(created.ref, 7));
    const gone = await failure(admin.remove('projects/gen3-project/secrets/gen3--fence--gcp--never', 7));

    // Assess
    const resource = fake.secretResource(created.ref);
    expect(fake.versionStates(created.ref)).toEqual({ '1': 'DISABLED', '2': 'DISABLED' });
    expect(Date.parse(String(resource?.expireTime))).toBeGreaterThanOrEqual(before + 7 * DAY_MS - 1000);
    expect(Date.parse(String(resource?.expireTime))).toBeLessThanOrEqual(Date.now() + 7 * DAY_MS + 1000);
    expect(await admin.describe(created.ref)).toBeUndefined();
    expect(read).toMatchObject({ code: 'bucket_misconfigured' });
    expect(again).toBeUndefined();
    expect(gone).toBeUndefined();
    expect(String(read?.message)).not.toContain(CANARY);
  });

  it('leaves a removed secret recoverable until it expires: enable a version and clear the expiration (README)', async () => {
    // Prepare
    const created = await admin.create(`gen3/fence/gcp/${uniqueName('recovered')}`, { v: 'kept' }, options);
    await admin.remove(created.ref, 7);
    const headers = { authorization: `Bearer ${fake.issue('user:operator')}` };

    // Act
    const cleared = await fetch(`${fake.url}/v1/${created.ref}?updateMask=expireTime`, {
      method: 'PATCH',
      headers,
      body: '{}',
    });
    await fetch(`${fake.url}/v1/${created.ref}/versions/1:enable`, { method: 'POST', headers });

    // Assess
    expect(cleared.status).toBe(200);
    expect(fake.secretResource(created.ref)?.expireTime).toBeUndefined();
    expect(await admin.describe(created.ref)).toMatchObject({ versions: [{ id: '1', stages: ['latest'] }] });
    expect(await resolver.get(created.ref)).toEqual({ v: 'kept' });
  });

  it("translates Google's refusals by status: a denied identity is invalid_request on secret_ref", async () => {
    // Prepare
    const created = await admin.create(`gen3/fence/gcp/${uniqueName('denied')}`, { v: '1' }, options);
    fake.allow = (_principal, secret) => secret !== created.ref;

    // Act
    const denied = await failure(admin.describe(created.ref)).finally(() => {
      fake.allow = undefined;
    });

    // Assess
    expect(denied).toMatchObject({ code: 'invalid_request', field: 'secret_ref' });
  });

  it('refuses to create without a project to create in, naming the variable', async () => {
    // Prepare
    const tokens = new GoogleAccessTokens(new ServiceAccountKeyExchange(fake.serviceAccountKey()));
    const projectless = new GcpSecretManagerAdministration({ endpoint: fake.url, tokens });

    // Act
    const refused = await failure(projectless.create('gen3/fence/gcp/x', { v: '1' }, options));

    // Assess
    expect(refused).toMatchObject({ code: 'invalid_request', field: 'create_secret' });
    expect(refused?.message).toContain('GCP_SECRET_MANAGER_PROJECT');
  });
});
