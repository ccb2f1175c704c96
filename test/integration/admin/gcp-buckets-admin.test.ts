import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { createAdminHandler } from '../../../functions/admin/admin-handler';
import { wireBucketAdmin } from '../../../functions/admin/admin-wiring';
import { AdminEnvironmentSchema } from '../../../functions/admin/environment';
import { runCli } from '../../../functions/cli/program';
import { PresignEnvironmentSchema } from '../../../functions/presign/environment';
import { wirePresignService } from '../../../functions/presign/presign-wiring';
import type { AdminAuditLine } from '../../../functions/shared/admin/bucket-admin';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { FileBucketRegistry } from '../../../functions/shared/registry/file-bucket-registry';
import { iamRequestContext } from '../support/admin-bed';
import { createRegistryTable, dynamoDb, uniqueName } from '../support/aws';
import { FakeGoogleCloud } from '../support/fake-gcp';
import { VaultRoot } from '../support/vault';

/** The error `call` fails with (undefined if it succeeds), caught at once. */
const failure = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (error: Error) => error,
  );

/**
 * GCP buckets through the admin core and then the presign service, both wired from their
 * environment: keys held in Vault (static mode) or none at all (workload identity), each
 * registration proven on the fake GCS, which checks V4 signatures as GCS does.
 */
describe('Class: BucketAdmin (GCP buckets on a fake GCS, keys in OpenBao)', () => {
  const root = VaultRoot.ofRun();
  const directory = mkdtempSync(join(tmpdir(), 'fbb-gcp-admin-'));
  const brokerAccount = 'fence-broker@gen3-project.iam.gserviceaccount.com';
  const context = { requestId: 'req-gcp-admin', caller: 'arn:aws:iam::123456789012:role/gen3-admin' };
  const audit: AdminAuditLine[] = [];
  let fake: FakeGoogleCloud;
  let variables: Record<string, string>;
  let registry: FileBucketRegistry;

  beforeAll(async () => {
    fake = await FakeGoogleCloud.start();
    fake.grantImpersonation(brokerAccount, 'aws:arn:aws:sts::123456789012:user/moto');
    const configFile = join(directory, 'wif.json');
    writeFileSync(
      configFile,
      JSON.stringify(
        fake.externalAccountConfig({
          awsStsUrl: `${process.env.AWS_ENDPOINT_URL}/`,
          impersonate: brokerAccount,
        }),
      ),
    );
    registry = new FileBucketRegistry(join(directory, 'registry.json'));
    variables = {
      REGISTRY_TABLE_NAME: 'unused',
      FENCE_SECRETS_BACKEND: 'vault',
      VAULT_ADDR: root.address,
      VAULT_AUTH_METHOD: 'token',
      VAULT_TOKEN: root.rootToken,
      GOOGLE_APPLICATION_CREDENTIALS: configFile,
      GCP_IAM_CREDENTIALS_ENDPOINT: fake.url,
      // The external-account file names the fake's STS and IAM Credentials on loopback.
      GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK: 'true',
    };
  });
  afterAll(() => fake.close());

  const admin = () =>
    wireBucketAdmin(readEnvironment(AdminEnvironmentSchema, variables), {
      audit: (line) => audit.push(line),
      registry,
    });
  const presign = () =>
    wirePresignService(readEnvironment(PresignEnvironmentSchema, variables), { registry }).service;

  /** Uploads and downloads an object through the broker's URLs, as Fence's users would. */
  async function putAndGet(bucket: string, text: string): Promise<string> {
    const service = presign();
    const key = `data/${crypto.randomUUID()}.txt`;
    const put = await service.presign(
      bucket,
      { key, method: 'PUT', content_type: 'text/plain' },
      { requestId: 'r' },
    );
    const stored = await fetch(put.url, { method: 'PUT', body: text, headers: put.headers });
    expect(stored.status).toBe(200);
    const get = await service.presign(bucket, { key, method: 'GET' }, { requestId: 'r' });
    return (await fetch(get.url)).text();
  }

  it('registers a static bucket with create_secret (the key goes to Vault), proven on GCS; presigned URLs then work', async () => {
    // Prepare
    const bucket = uniqueName('gcs-static');
    const key = fake.serviceAccountKey(`${bucket}@gen3-project.iam.gserviceaccount.com`);
    fake.createGcsBucket(bucket, [key.client_email]);

    // Act
    const record = await admin().register(
      {
        bucket_name: bucket,
        provider: 'gcp',
        auth_mode: 'static',
        secrets_backend: 'vault',
        endpoint: fake.url,
        allowed_ops: ['download', 'upload'],
        create_secret: true,
        secret: { service_account_key_json: JSON.stringify(key) },
      },
      context,
    );
    const report = await admin().validate(bucket, context);

    // Assess
    expect(record).toMatchObject({ secrets_backend: 'vault', secret_ref: `secret/gen3/fence/gcp/${bucket}` });
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => check.name)).toEqual([
      'record',
      'secret',
      'secret_shape',
      'bucket_access',
    ]);
    expect(await putAndGet(bucket, 'static gcs')).toBe('static gcs');
    expect(JSON.stringify([record, report, audit])).not.toContain('PRIVATE KEY');
  }, 60_000);

  it('registers a workload-identity bucket (no secret), proven by signing as its account; presigned URLs then work', async () => {
    // Prepare
    const bucket = uniqueName('gcs-wi');
    const account = `${bucket}@gen3-project.iam.gserviceaccount.com`;
    fake.googleManagedAccount(account);
    fake.grantImpersonation(account, `serviceAccount:${brokerAccount}`);
    fake.createGcsBucket(bucket, [account]);

    // Act
    const record = await admin().register(
      {
        bucket_name: bucket,
        provider: 'gcp',
        auth_mode: 'workload_identity',
        gcp_service_account: account,
        endpoint: fake.url,
        allowed_ops: ['download', 'upload'],
      },
      context,
    );
    const report = await admin().validate(bucket, context);

    // Assess
    expect(record).toMatchObject({
      auth_mode: 'workload_identity',
      secret_ref: null,
      gcp_service_account: account,
    });
    expect(report.checks).toEqual([
      expect.objectContaining({ name: 'record', ok: true }),
      { name: 'bucket_access', ok: true, message: `signed as ${account} and saw bucket ${bucket}` },
    ]);
    expect(await putAndGet(bucket, 'federated gcs')).toBe('federated gcs');
  }, 60_000);

  it('refuses what GCS or IAM refuse, and keys of the wrong shape, leaving nothing behind', async () => {
    // Prepare
    const bucket = uniqueName('gcs-refused');
    const outsider = fake.serviceAccountKey(`${bucket}-outsider@gen3-project.iam.gserviceaccount.com`);
    const unsignable = `${bucket}-unsignable@gen3-project.iam.gserviceaccount.com`;
    fake.googleManagedAccount(unsignable);
    fake.createGcsBucket(bucket, [unsignable]);
    const staticBody = (secret: Record<string, string>, name = bucket) => ({
      bucket_name: name,
      provider: 'gcp',
      auth_mode: 'static',
      secrets_backend: 'vault',
      endpoint: fake.url,
      allowed_ops: ['download'],
      create_secret: true,
      secret,
    });

    // Act
    const notAllowed = await failure(
      admin().register(staticBody({ service_account_key_json: JSON.stringify(outsider) }), context),
    );
    const secretAfter = await root.call('GET', `secret/metadata/gen3/fence/gcp/${bucket}`);
    const noBucket = await failure(
      admin().register(
        staticBody({ service_account_key_json: JSON.stringify(outsider) }, uniqueName('gcs-none')),
        context,
      ),
    );
    const s3Shaped = await failure(
      admin().register(staticBody({ access_key_id: 'AKID', secret_access_key: 'not-a-gcp-key' }), context),
    );
    const cannotSign = await failure(
      admin().register(
        {
          bucket_name: bucket,
          provider: 'gcp',
          auth_mode: 'workload_identity',
          gcp_service_account: unsignable,
          endpoint: fake.url,
          allowed_ops: ['download'],
        },
        context,
      ),
    );

    // Assess
    expect(notAllowed).toMatchObject({ code: 'credentials_rejected' });
    expect(notAllowed?.message).toContain('AccessDenied');
    expect(secretAfter.body.data.versions['1'].deletion_time).not.toBe('');
    expect(noBucket).toMatchObject({ code: 'credentials_rejected' });
    expect(noBucket?.message).toContain('GCS has no bucket');
    expect(s3Shaped).toMatchObject({ code: 'invalid_request', field: 'secret' });
    expect(cannotSign).toMatchObject({ code: 'credentials_rejected' });
    expect(await registry.getByName(bucket)).toBeUndefined();
    expect(JSON.stringify(audit)).not.toContain('PRIVATE KEY');
  }, 60_000);

  it('registers both kinds through the CLI: the raw key file with --secret-file, and --gcp-service-account', async () => {
    // Prepare
    const table = await createRegistryTable(dynamoDb());
    const staticBucket = uniqueName('gcs-cli');
    const key = fake.serviceAccountKey(`${staticBucket}@gen3-project.iam.gserviceaccount.com`);
    fake.createGcsBucket(staticBucket, [key.client_email]);
    const keyFile = join(directory, `${staticBucket}.json`);
    writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
    const federatedBucket = uniqueName('gcs-cli-wi');
    const account = `${federatedBucket}@gen3-project.iam.gserviceaccount.com`;
    fake.googleManagedAccount(account);
    fake.grantImpersonation(account, `serviceAccount:${brokerAccount}`);
    fake.createGcsBucket(federatedBucket, [account]);
    const env = { ...process.env, ...variables, REGISTRY_TABLE_NAME: table };
    const common = ['--provider', 'gcp', '--endpoint', fake.url, '--allowed-ops', 'download', '--json'];
    const cli = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await runCli(
        args,
        {
          out: (text) => (out += text),
          err: (text) => (err += text),
          interactive: false,
          stdin: async () => '',
        },
        env,
      );
      return { code, out, err };
    };

    // Act
    const registeredStatic = await cli([
      'register',
      '--bucket',
      staticBucket,
      '--auth-mode',
      'static',
      '--secrets-backend',
      'vault',
      ...common,
      '--create-secret',
      '--secret-file',
      keyFile,
    ]);
    const registeredFederated = await cli([
      'register',
      '--bucket',
      federatedBucket,
      '--auth-mode',
      'workload_identity',
      '--gcp-service-account',
      account,
      ...common,
    ]);
    const validated = await cli(['validate', staticBucket, federatedBucket, '--json']);

    // Assess
    expect(registeredStatic).toMatchObject({ code: 0 });
    expect(JSON.parse(registeredStatic.out)).toMatchObject({
      secret_ref: `secret/gen3/fence/gcp/${staticBucket}`,
    });
    expect(registeredFederated).toMatchObject({ code: 0 });
    expect(JSON.parse(registeredFederated.out)).toMatchObject({ gcp_service_account: account });
    expect(validated.code).toBe(0);
    expect(JSON.stringify([registeredStatic, registeredFederated, validated])).not.toContain('PRIVATE KEY');
  }, 60_000);
});

/**
 * The same flows with the keys in GCP Secret Manager (`gcp_sm`): the admin core creates and
 * describes secrets there through the REST calls the resolver makes, under the broker's own
 * Google identity (workload identity federation from AWS, impersonating its service account).
 */
describe('Class: BucketAdmin (GCP buckets on a fake GCS, keys in GCP Secret Manager)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'fbb-gcp-sm-admin-'));
  const brokerAccount = 'fence-broker@gen3-project.iam.gserviceaccount.com';
  const context = { requestId: 'req-gcp-sm-admin', caller: 'arn:aws:iam::123456789012:role/gen3-admin' };
  const audit: AdminAuditLine[] = [];
  const DAY_MS = 86_400_000;
  let fake: FakeGoogleCloud;
  let variables: Record<string, string>;
  let registry: FileBucketRegistry;

  beforeAll(async () => {
    fake = await FakeGoogleCloud.start();
    fake.grantImpersonation(brokerAccount, 'aws:arn:aws:sts::123456789012:user/moto');
    const configFile = join(directory, 'wif.json');
    writeFileSync(
      configFile,
      JSON.stringify(
        fake.externalAccountConfig({
          awsStsUrl: `${process.env.AWS_ENDPOINT_URL}/`,
          impersonate: brokerAccount,
        }),
      ),
    );
    registry = new FileBucketRegistry(join(directory, 'registry.json'));
    variables = {
      REGISTRY_TABLE_NAME: 'unused',
      FENCE_SECRETS_BACKEND: 'gcp_sm',
      GCP_SECRET_MANAGER_ENDPOINT: fake.url,
      GCP_SECRET_MANAGER_PROJECT: 'gen3-project',
      GOOGLE_APPLICATION_CREDENTIALS: configFile,
      GCP_IAM_CREDENTIALS_ENDPOINT: fake.url,
      // The external-account file names the fake's STS and IAM Credentials on loopback.
      GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK: 'true',
    };
  });
  afterAll(() => fake.close());

  const admin = () =>
    wireBucketAdmin(readEnvironment(AdminEnvironmentSchema, variables), {
      audit: (line) => audit.push(line),
      registry,
    });
  const presign = () =>
    wirePresignService(readEnvironment(PresignEnvironmentSchema, variables), { registry }).service;

  /** A bucket, and the key of an account that may use it; the key's body is the canary. */
  function bucketWithKey(prefix: string) {
    const bucket = uniqueName(prefix);
    const key = fake.serviceAccountKey(`${bucket}@gen3-project.iam.gserviceaccount.com`);
    fake.createGcsBucket(bucket, [key.client_email]);
    const canary = String(key.private_key.split('\n')[3]);
    return { bucket, key, canary };
  }

  /** A secret an operator made with gcloud: `secretId`, one version holding `payload`. */
  async function operatorSecret(secretId: string, payload: Record<string, string>): Promise<string> {
    const headers = { authorization: `Bearer ${fake.issue('user:operator')}` };
    const ref = `projects/gen3-project/secrets/${secretId}`;
    await fetch(`${fake.url}/v1/projects/gen3-project/secrets?secretId=${secretId}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ replication: { automatic: {} } }),
    });
    await fetch(`${fake.url}/v1/${ref}:addVersion`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ payload: { data: Buffer.from(JSON.stringify(payload)).toString('base64') } }),
    });
    return ref;
  }

  it('registers a static bucket with create_secret: the key goes to Secret Manager under the prefix, proven on GCS; presigned URLs then work', async () => {
    // Prepare
    const { bucket, key, canary } = bucketWithKey('gcs-sm');

    // Act
    const record = await admin().register(
      {
        bucket_name: bucket,
        provider: 'gcp',
        auth_mode: 'static',
        secrets_backend: 'gcp_sm',
        endpoint: fake.url,
        allowed_ops: ['download', 'upload'],
        create_secret: true,
        secret: { service_account_key_json: JSON.stringify(key) },
      },
      context,
    );
    const report = await admin().validate(bucket, context);
    const service = presign();
    const put = await service.presign(
      bucket,
      { key: 'data/a.txt', method: 'PUT', content_type: 'text/plain' },
      { requestId: 'r' },
    );
    const stored = await fetch(put.url, { method: 'PUT', body: 'in gcp_sm', headers: put.headers });
    const get = await service.presign(bucket, { key: 'data/a.txt', method: 'GET' }, { requestId: 'r' });

    // Assess
    const ref = `projects/gen3-project/secrets/gen3--fence--gcp--${bucket}`;
    expect(record).toMatchObject({ secrets_backend: 'gcp_sm', secret_ref: ref, secret_version: null });
    expect(report.ok).toBe(true);
    expect(report.checks.find((check) => check.name === 'secret')?.message).toBe(
      `gen3/fence/gcp/${bucket} exists under gen3/fence/`,
    );
    expect(fake.secretResource(ref)?.labels).toMatchObject({ 'fence-bucket-broker_bucket': bucket });
    expect(stored.status).toBe(200);
    expect(await (await fetch(get.url)).text()).toBe('in gcp_sm');
    expect(JSON.stringify([record, report, audit])).not.toContain(canary);
  }, 60_000);

  it('registers with secret_ref (a secret the operator made, pinned), and refuses secrets outside the prefix or in its admin sub-path', async () => {
    // Prepare
    const { bucket, key, canary } = bucketWithKey('gcs-sm-ref');
    const payload = { service_account_key_json: JSON.stringify(key) };
    const ref = await operatorSecret(`gen3--fence--gcp--${bucket}`, payload);
    const outside = await operatorSecret(`other--${bucket}`, payload);
    const adminPath = await operatorSecret(`gen3--fence--admin--${bucket}`, payload);
    const body = (secretRef: string, name = bucket) => ({
      bucket_name: name,
      provider: 'gcp',
      auth_mode: 'static',
      secrets_backend: 'gcp_sm',
      secret_ref: secretRef,
      secret_version: '1',
      endpoint: fake.url,
      allowed_ops: ['download'],
    });

    // Act
    const outsideRefused = await failure(admin().register(body(outside, uniqueName('gcs-sm-out')), context));
    const adminRefused = await failure(admin().register(body(adminPath, uniqueName('gcs-sm-adm')), context));
    const record = await admin().register(body(ref), context);
    const report = await admin().validate(bucket, context);
    const rotated = await failure(admin().rotate(bucket, context));

    // Assess
    expect(outsideRefused).toMatchObject({ code: 'invalid_secret' });
    expect(outsideRefused?.message).toContain(`other/${bucket} is outside gen3/fence/`);
    expect(adminRefused).toMatchObject({ code: 'invalid_secret' });
    expect(adminRefused?.message).toContain('gen3/fence/admin/');
    expect(record).toMatchObject({ secret_ref: ref, secret_version: '1' });
    expect(report.checks.map((check) => [check.name, check.ok])).toEqual([
      ['record', true],
      ['secret', true],
      ['secret_pin', true],
      ['secret_shape', true],
      ['bucket_access', true],
    ]);
    expect(rotated).toMatchObject({ code: 'rotation_not_configured' });
    expect(
      JSON.stringify([
        record,
        report,
        audit,
        outsideRefused?.message,
        adminRefused?.message,
        rotated?.message,
      ]),
    ).not.toContain(canary);
  }, 60_000);

  it('leaves the secret of a failed registration disabled and expiring after the recovery window, at once; a retry answers secret_exists', async () => {
    // Prepare
    const { bucket, canary } = bucketWithKey('gcs-sm-fail');
    const outsider = fake.serviceAccountKey(`${bucket}-outsider@gen3-project.iam.gserviceaccount.com`);
    const outsiderCanary = String(outsider.private_key.split('\n')[3]);
    const registration = {
      bucket_name: bucket,
      provider: 'gcp',
      auth_mode: 'static',
      secrets_backend: 'gcp_sm',
      endpoint: fake.url,
      allowed_ops: ['download'],
      create_secret: true,
      secret: { service_account_key_json: JSON.stringify(outsider) },
    };
    const before = Date.now();

    // Act
    const refused = await failure(admin().register(registration, context));
    const ref = `projects/gen3-project/secrets/gen3--fence--gcp--${bucket}`;
    const states = fake.versionStates(ref);
    const resource = fake.secretResource(ref);
    const retried = await failure(admin().register(registration, context));

    // Assess
    expect(refused).toMatchObject({ code: 'credentials_rejected' });
    expect(refused?.message).not.toContain('could not be deleted');
    expect(states).toEqual({ '1': 'DISABLED' });
    expect(Date.parse(String(resource?.expireTime))).toBeGreaterThanOrEqual(before + 7 * DAY_MS - 1000);
    expect(Date.parse(String(resource?.expireTime))).toBeLessThanOrEqual(Date.now() + 7 * DAY_MS + 1000);
    expect(retried).toMatchObject({ code: 'secret_exists' });
    expect(await registry.getByName(bucket)).toBeUndefined();
    const told = JSON.stringify([audit, refused?.message, String(refused?.cause), retried?.message]);
    expect(told).not.toContain(outsiderCanary);
    expect(told).not.toContain(canary);
  }, 60_000);

  it('registers and validates through the admin API handler; nothing it logs or answers holds the key', async () => {
    // Prepare
    const { bucket, key, canary } = bucketWithKey('gcs-sm-api');
    const outsider = fake.serviceAccountKey(`${bucket}-outsider@gen3-project.iam.gserviceaccount.com`);
    const refusedBucket = uniqueName('gcs-sm-api-refused');
    fake.createGcsBucket(refusedBucket, [key.client_email]);
    const logged: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logged.push(String(chunk));
        return true;
      });
    }
    const caller = 'arn:aws:sts::123456789012:assumed-role/gen3-admin/alice';
    const logger = new Logger({ serviceName: 'admin-test' });
    // Wired as the admin Lambda wires it (handler.ts): audit lines go to the log.
    const handler = createAdminHandler({
      admin: () =>
        wireBucketAdmin(readEnvironment(AdminEnvironmentSchema, variables), {
          audit: (line) => logger.info('admin', { ...line }),
          registry,
        }),
      logger,
      allowedCallers: ['arn:aws:iam::123456789012:role/gen3-admin'],
    });
    const call = (method: string, path: string, body?: unknown) =>
      handler(
        {
          httpMethod: method,
          path,
          body: body === undefined ? null : Buffer.from(JSON.stringify(body)).toString('base64'),
          isBase64Encoded: body !== undefined,
          queryStringParameters: null,
          requestContext: iamRequestContext(caller),
        } as unknown as APIGatewayProxyEvent,
        { awsRequestId: 'req-gcp-sm-api', functionName: 'admin' } as Context,
      );
    const registration = (name: string, secret: object) => ({
      bucket_name: name,
      provider: 'gcp',
      auth_mode: 'static',
      secrets_backend: 'gcp_sm',
      endpoint: fake.url,
      allowed_ops: ['download'],
      create_secret: true,
      secret: { service_account_key_json: JSON.stringify(secret) },
    });

    // Act
    const registered = await call('POST', '/v1/admin/buckets', registration(bucket, key));
    const validated = await call('POST', `/v1/admin/buckets/${bucket}/validate`);
    const refused = await call('POST', '/v1/admin/buckets', registration(refusedBucket, outsider));
    jest.restoreAllMocks();

    // Assess
    expect(registered.statusCode).toBeLessThan(300);
    expect(JSON.parse(registered.body)).toMatchObject({
      secret_ref: `projects/gen3-project/secrets/gen3--fence--gcp--${bucket}`,
    });
    expect(JSON.parse(validated.body)).toMatchObject({ ok: true });
    expect(refused.statusCode).toBe(502);
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'credentials_rejected' });
    expect(logged.join('')).toContain(`gen3--fence--gcp--${refusedBucket}`);
    const everything = JSON.stringify([registered, validated, refused, logged]);
    expect(everything).not.toContain(canary);
    expect(everything).not.toContain(String(outsider.private_key.split('\n')[3]));
    expect(everything).not.toContain('PRIVATE KEY');
  }, 60_000);

  it('registers, validates and drift-checks through the CLI (fence-buckets register --secrets-backend gcp_sm --create-secret)', async () => {
    // Prepare
    const table = await createRegistryTable(dynamoDb());
    const { bucket, key, canary } = bucketWithKey('gcs-sm-cli');
    const keyFile = join(directory, `${bucket}.json`);
    writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
    const env = { ...process.env, ...variables, REGISTRY_TABLE_NAME: table };
    const cli = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await runCli(
        args,
        {
          out: (text) => (out += text),
          err: (text) => (err += text),
          interactive: false,
          stdin: async () => '',
        },
        env,
      );
      return { code, out, err };
    };

    // Act
    const registered = await cli([
      'register',
      '--bucket',
      bucket,
      '--provider',
      'gcp',
      '--auth-mode',
      'static',
      '--secrets-backend',
      'gcp_sm',
      '--endpoint',
      fake.url,
      '--allowed-ops',
      'download',
      '--create-secret',
      '--secret-file',
      keyFile,
      '--json',
    ]);
    const validated = await cli(['validate', bucket, '--json']);
    const drift = await cli(['drift-check', '--bucket', bucket, '--json']);

    // Assess
    expect(registered).toMatchObject({ code: 0 });
    expect(JSON.parse(registered.out)).toMatchObject({
      secrets_backend: 'gcp_sm',
      secret_ref: `projects/gen3-project/secrets/gen3--fence--gcp--${bucket}`,
    });
    expect(validated.code).toBe(0);
    expect(drift).toMatchObject({ code: 0 });
    expect(JSON.parse(drift.out)).toMatchObject({ totals: { buckets: 1, passed: 1, failed: 0 } });
    expect(JSON.parse(drift.out).results[0].checks.map((check: { name: string }) => check.name)).toEqual([
      'secret',
      'secret_shape',
      'bucket_access',
    ]);
    expect(JSON.stringify([registered, validated, drift])).not.toContain(canary);
  }, 60_000);
});
