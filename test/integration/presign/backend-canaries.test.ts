import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { PresignEnvironmentSchema } from '../../../functions/presign/environment';
import { createPresignHandler } from '../../../functions/presign/presign-handler';
import { wirePresignService } from '../../../functions/presign/presign-wiring';
import { GcpSecretManagerResolver } from '../../../functions/shared/backends/gcp/gcp-secret-manager-resolver';
import {
  GoogleAccessTokens,
  ServiceAccountKeyExchange,
} from '../../../functions/shared/backends/gcp/google-credentials';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { FileBucketRegistry } from '../../../functions/shared/registry/file-bucket-registry';
import { readEndpoints } from '../services/endpoints';
import { minioBucketWithUser } from '../support/admin-bed';
import { minioRootClient, uniqueName } from '../support/aws';
import { FakeGoogleCloud } from '../support/fake-gcp';
import { VaultRoot } from '../support/vault';

/**
 * The presign Lambda's own handler (middy, Powertools, audit lines) over buckets whose keys live
 * in Vault and in GCP Secret Manager: the MinIO secret keys are canaries, and neither they nor
 * the Google key may appear in any answer or log line, on success or failure.
 */
describe('Handler: presign over the vault and gcp_sm backends (canaries)', () => {
  const root = VaultRoot.ofRun();
  const directory = mkdtempSync(join(tmpdir(), 'fbb-canaries-'));
  let fake: FakeGoogleCloud;
  let googleKey: ReturnType<FakeGoogleCloud['serviceAccountKey']>;

  beforeAll(async () => {
    fake = await FakeGoogleCloud.start();
    googleKey = fake.serviceAccountKey();
  });
  afterAll(() => fake.close());

  it('signs working URLs from both backends and answers their missing versions, with no secret in answers or logs', async () => {
    // Prepare: one MinIO bucket and user (its secret key a canary), its keys in Vault and in GCP.
    const store = await minioBucketWithUser();
    const keys = { access_key_id: store.accessKey, secret_access_key: store.secretKey };
    const vaultPath = `gen3/fence/minio/${uniqueName('canary')}`;
    await root.writeSecret(vaultPath, keys);
    await root.writeSecret(`${vaultPath}-deleted`, keys);
    await root.call('POST', `secret/delete/${vaultPath}-deleted`, { versions: [1] });
    // The id of the name gen3/fence/minio/<canary>: under the prefix presign re-checks.
    const gcpRef = `projects/gen3-project/secrets/gen3--fence--minio--${uniqueName('canary')}`;
    const google = new GcpSecretManagerResolver({
      endpoint: fake.url,
      tokens: new GoogleAccessTokens(new ServiceAccountKeyExchange(googleKey)),
    });
    await google.put(gcpRef, keys);
    await google.put(`${gcpRef}-disabled`, keys);
    await fetch(`${fake.url}/v1/${gcpRef}-disabled/versions/1:disable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.issue('user:operator')}` },
    });
    const secretsDir = join(directory, 'secrets');
    mkdirSync(join(secretsDir, 'gcp'), { recursive: true });
    writeFileSync(
      join(secretsDir, 'gcp/dev-key'),
      JSON.stringify({ service_account_key_json: JSON.stringify(googleKey) }),
    );
    const gcpBucket = uniqueName('canary-gcp');
    await minioRootClient(readEndpoints().minio).send(new CreateBucketCommand({ Bucket: gcpBucket }));
    const names: Record<string, string> = {
      vault: store.bucket,
      vaultDeleted: uniqueName('deleted'),
      gcp: gcpBucket,
      gcpDisabled: uniqueName('disabled'),
    };
    const registry = new FileBucketRegistry(join(directory, 'registry.json'));
    const buckets = {
      vault: { secrets_backend: 'vault' as const, secret_ref: `secret/${vaultPath}` },
      vaultDeleted: { secrets_backend: 'vault' as const, secret_ref: `secret/${vaultPath}-deleted` },
      gcp: { secrets_backend: 'gcp_sm' as const, secret_ref: gcpRef },
      gcpDisabled: { secrets_backend: 'gcp_sm' as const, secret_ref: `${gcpRef}-disabled` },
    };
    for (const [label, secret] of Object.entries(buckets)) {
      await registry.create({
        bucket_name: String(names[label]),
        provider: 'minio',
        auth_mode: 'static',
        ...secret,
        endpoint: store.endpoint,
        allowed_ops: ['download', 'upload'],
      });
    }
    const environment = readEnvironment(PresignEnvironmentSchema, {
      REGISTRY_TABLE_NAME: 'unused',
      FENCE_SECRETS_BACKEND: 'vault,gcp_sm,k8s',
      FENCE_SECRETS_DIR: secretsDir,
      VAULT_ADDR: root.address,
      VAULT_AUTH_METHOD: 'token',
      VAULT_TOKEN: root.rootToken,
      GCP_SECRET_MANAGER_ENDPOINT: fake.url,
      GCP_CREDENTIALS_SECRET: 'k8s:gcp/dev-key',
    });
    const handler = createPresignHandler({
      wiring: wirePresignService(environment, { registry }),
      logger: async () => new Logger({ serviceName: 'canaries' }),
      metrics: async () => new Metrics({ namespace: 'FenceBucketBrokerTest', serviceName: 'canaries' }),
      auditSampleRate: 1,
    });
    const output: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      output.push(String(chunk));
      return true;
    });
    const presign = (label: string, method: string) =>
      handler(
        {
          httpMethod: 'POST',
          path: `/v1/buckets/${names[label]}/presign`,
          body: JSON.stringify({ key: 'canary.txt', method }),
          isBase64Encoded: false,
          requestContext: { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/fence/pod' } },
        } as unknown as APIGatewayProxyEvent,
        { awsRequestId: `req-${label}`, functionName: 'presign' } as Context,
      );

    // Act
    let answers: Awaited<ReturnType<typeof presign>>[];
    try {
      answers = [
        await presign('vault', 'PUT'),
        await presign('gcp', 'GET'),
        await presign('vaultDeleted', 'GET'),
        await presign('gcpDisabled', 'GET'),
      ];
    } finally {
      spy.mockRestore();
    }
    const [vaultPut, gcpGet, vaultDeleted, gcpDisabled] = answers;
    const uploaded = await fetch(JSON.parse(String(vaultPut?.body)).url, { method: 'PUT', body: 'x' });
    const fetched = await fetch(JSON.parse(String(gcpGet?.body)).url);

    // Assess
    expect(vaultPut?.statusCode).toBe(200);
    expect(gcpGet?.statusCode).toBe(200);
    expect(uploaded.status).toBe(200);
    // The GCP-held keys sign a GET that MinIO accepts: the object is missing, the signature is not.
    expect(fetched.status).toBe(404);
    expect(vaultDeleted?.statusCode).toBe(502);
    expect(JSON.parse(String(vaultDeleted?.body)).error.message).toMatch(/its latest version is deleted/);
    expect(gcpDisabled?.statusCode).toBe(502);
    expect(JSON.parse(String(gcpDisabled?.body)).error.message).toMatch(/its latest version is disabled/);
    const everything = JSON.stringify({ answers, output });
    expect(output.length).toBeGreaterThanOrEqual(4);
    expect(everything).not.toContain(store.secretKey);
    expect(everything).not.toContain('PRIVATE KEY');
    expect(everything).not.toContain(root.rootToken);
  }, 60_000);
});
