import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { SecretResolvers } from '../../../functions/shared/backends/backend-registry';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import { StoreUnavailableError } from '../../../functions/shared/errors';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { CachingSecretResolver } from '../../../functions/shared/secrets/caching-secret-resolver';
import { SigV4Presigner } from '../../../functions/shared/signing/sigv4-presigner';
import { writeSelfSignedCertificate } from '../services/certificates';
import { type MinioServer, startMinio } from '../services/minio';
import { createRegistryTable, dynamoDb, minioRootClient, secretsManager, uniqueName } from '../support/aws';

/** PUT over HTTPS trusting `ca`, as a client of a private-CA store would. */
function put(url: string, body: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: 'PUT', ca, headers: { 'content-length': String(body.length) } },
      (answer) => {
        answer.resume();
        resolve(answer.statusCode ?? 0);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('Static mode with a private CA (MinIO over TLS)', () => {
  let minio: MinioServer;
  let caPem: string;

  beforeAll(async () => {
    const certsDir = mkdtempSync(join(tmpdir(), 'fbb-certs-'));
    writeSelfSignedCertificate(join(certsDir, 'private.key'), join(certsDir, 'public.crt'));
    caPem = readFileSync(join(certsDir, 'public.crt'), 'utf8');
    minio = await startMinio({ certsDir, caPem });
  }, 60_000);

  afterAll(async () => {
    await minio?.process.stop();
  });

  it("trusts the secret's ca_bundle_pem for multipart calls, and fails cleanly without it", async () => {
    // Prepare
    const s3 = minioRootClient(minio, {
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: caPem }) }),
    });
    const bucket = uniqueName('tls');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const keys = { access_key_id: minio.rootUser, secret_access_key: minio.rootPassword };
    const withCa = `gen3/fence/minio/${bucket}-ca`;
    const withoutCa = `gen3/fence/minio/${bucket}-plain`;
    await secretsManager().send(
      new CreateSecretCommand({
        Name: withCa,
        SecretString: JSON.stringify({ ...keys, ca_bundle_pem: caPem }),
      }),
    );
    await secretsManager().send(
      new CreateSecretCommand({ Name: withoutCa, SecretString: JSON.stringify(keys) }),
    );
    const registry = new DynamoDbBucketRegistry(await createRegistryTable(dynamoDb()));
    const base = {
      provider: 'minio' as const,
      auth_mode: 'static' as const,
      secrets_backend: 'aws_sm' as const,
      endpoint: minio.endpoint,
      allowed_ops: ['upload' as const, 'multipart' as const],
    };
    await registry.create({ ...base, bucket_name: bucket, secret_ref: withCa });
    await registry.create({ ...base, bucket_name: `${bucket}-alias`, secret_ref: withoutCa });
    const service = new PresignService({
      buckets: new CachedBucketLookup(registry),
      credentials: new BucketCredentialsService(
        new SecretResolvers(
          new Map([['aws_sm', new CachingSecretResolver(new AwsSecretsManagerResolver())]]),
        ),
        new AssumedRoleCredentials(),
      ),
      presigner: new SigV4Presigner(),
      multipart: new MultipartStoreClient(),
    });
    const context = { requestId: 'tls' };

    // Act
    const { upload_id } = await service.initiateMultipart(bucket, { key: 'tls/object.bin' }, context);
    await service.abortMultipart(bucket, { key: 'tls/object.bin', upload_id }, context);
    // Settled at once: a rejection left unobserved while the next calls run would fail the test
    // as an unhandled rejection whenever the refusal comes first (a loaded machine).
    const untrusted = await service
      .initiateMultipart(`${bucket}-alias`, { key: 'tls/object.bin' }, context)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const url = await service.presign(bucket, { key: 'tls/put.txt', method: 'PUT' }, context);
    const putStatus = await put(url.url, 'over tls', caPem);

    // Assess
    expect(upload_id.length).toBeGreaterThan(0);
    expect(untrusted).toBeInstanceOf(StoreUnavailableError);
    expect(untrusted).toMatchObject({ status: 503, code: 'store_unavailable' });
    expect(url.url.startsWith('https://127.0.0.1:')).toBe(true);
    expect(putStatus).toBe(200);
  }, 60_000);
});
