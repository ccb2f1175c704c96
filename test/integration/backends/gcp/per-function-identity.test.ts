import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminSecretsBackend } from '../../../../functions/shared/backends/admin-backend-registry';
import { createSecretResolvers } from '../../../../functions/shared/backends/backend-registry';
import { SecretsEnvironmentSchema } from '../../../../functions/shared/backends/secrets-environment';
import { readEnvironment } from '../../../../functions/shared/config/environment';
import { GOOGLE_SECRET_MANAGER_PERMISSIONS } from '../../../../lib/iam/backend-identities';
import { uniqueName } from '../../support/aws';
import { FakeGoogleCloud, type SecretManagerPermission } from '../../support/fake-gcp';

/** Each service account's grants, as the matrix (and README's table) states them. */
const ADMIN_PERMISSIONS: readonly SecretManagerPermission[] = GOOGLE_SECRET_MANAGER_PERMISSIONS.admin;
const PRESIGN_PERMISSIONS: readonly SecretManagerPermission[] = GOOGLE_SECRET_MANAGER_PERMISSIONS.presign;

/** The error `call` fails with (undefined if it succeeds), caught at once. */
const failure = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (error: Error) => error,
  );

describe('GCP Secret Manager: each function its own Google identity (on the fake, with per-identity IAM)', () => {
  let fake: FakeGoogleCloud;
  const directory = mkdtempSync(join(tmpdir(), 'fbb-gcp-identity-'));
  const presignAccount = `fence-presign-${crypto.randomUUID().slice(0, 6)}@gen3-project.iam.gserviceaccount.com`;
  const adminAccount = `fence-admin-${crypto.randomUUID().slice(0, 6)}@gen3-project.iam.gserviceaccount.com`;
  let configFile: string;

  beforeAll(async () => {
    fake = await FakeGoogleCloud.start();
    // One pool configuration for every function (moto plays AWS STS; its caller is the federated
    // principal), impersonating no one itself: each function names its own account.
    for (const account of [presignAccount, adminAccount]) {
      fake.grantImpersonation(account, 'aws:arn:aws:sts::123456789012:user/moto');
    }
    configFile = join(directory, 'wif.json');
    writeFileSync(
      configFile,
      JSON.stringify(fake.externalAccountConfig({ awsStsUrl: `${process.env.AWS_ENDPOINT_URL}/` })),
    );
    // IAM on the secrets under the prefix, as the README grants it per service account.
    fake.allow = (principal, secret, permission) => {
      const underPrefix =
        /\/secrets\/gen3--fence--/.test(secret) && !/\/secrets\/gen3--fence--admin--/.test(secret);
      if (!underPrefix) return false;
      if (principal === `serviceAccount:${adminAccount}`) return ADMIN_PERMISSIONS.includes(permission);
      if (principal === `serviceAccount:${presignAccount}`) return PRESIGN_PERMISSIONS.includes(permission);
      return false;
    };
  });
  afterAll(() => fake.close());

  /** A function's secrets environment: the shared file, its own service account. */
  const environmentOf = (account: string) =>
    readEnvironment(SecretsEnvironmentSchema, {
      FENCE_SECRETS_BACKEND: 'gcp_sm',
      GCP_SECRET_MANAGER_ENDPOINT: fake.url,
      GCP_SECRET_MANAGER_PROJECT: 'gen3-project',
      GCP_IAM_CREDENTIALS_ENDPOINT: fake.url,
      GOOGLE_APPLICATION_CREDENTIALS: configFile,
      GCP_IMPERSONATE_SERVICE_ACCOUNT: account,
      // The file names the fake's STS on loopback.
      GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK: 'true',
    });
  const options = { tags: { 'fence-bucket-broker:bucket': 'data.example.org' } };

  it("lets the admin function's identity create a secret, and presign's identity read it but never write", async () => {
    // Prepare
    const name = `gen3/fence/gcp/${uniqueName('b')}.example.org`;
    const admin = adminSecretsBackend('gcp_sm', environmentOf(adminAccount));
    const presignAdmin = adminSecretsBackend('gcp_sm', environmentOf(presignAccount));
    const presign = createSecretResolvers(environmentOf(presignAccount)).for('gcp_sm');

    // Act
    const created = await admin.admin.create(name, { service_account_key_json: 'k' }, options);
    const read = await presign.get(created.ref);
    const presignCreate = await failure(
      presignAdmin.admin.create(`gen3/fence/gcp/${uniqueName('p')}.example.org`, { k: 'v' }, options),
    );
    const presignAddVersion = await failure(
      presignAdmin.read.put?.(created.ref, { service_account_key_json: 'overwritten' }) ??
        Promise.reject(new Error('no put')),
    );
    const presignDisable = await failure(presignAdmin.admin.remove(created.ref, 7));

    // Assess
    expect(read).toEqual({ service_account_key_json: 'k' });
    expect(presignCreate).toBeDefined();
    expect(presignAddVersion).toBeDefined();
    expect(presignDisable).toBeDefined();
    expect(fake.versionStates(created.ref)).toEqual({ '1': 'ENABLED' });
    expect(await presign.get(created.ref)).toEqual({ service_account_key_json: 'k' });
    expect(
      fake.calls.filter((call) => call.includes(`serviceAccounts/${encodeURIComponent(presignAccount)}`)),
    ).not.toHaveLength(0);
  });

  it('keeps the admin identity out of admin/ too', async () => {
    // Prepare
    const admin = adminSecretsBackend('gcp_sm', environmentOf(adminAccount));
    const bucket = uniqueName('b');

    // Act
    const outcome = await failure(
      admin.admin.create(`gen3/fence/admin/gcp/${bucket}`, { service_account_key_json: 'k' }, options),
    );

    // Assess
    expect(outcome).toBeDefined();
    expect(
      fake.secretResource(`projects/gen3-project/secrets/gen3--fence--admin--gcp--${bucket}`),
    ).toBeUndefined();
  });
});
