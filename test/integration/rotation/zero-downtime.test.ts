import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import { S3MultipartClient } from '../../../functions/shared/presign/s3-multipart-client';
import { SigV4Presigner } from '../../../functions/shared/presign/sigv4-presigner';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { probeMinioBucket } from '../../../functions/shared/rotation/minio-bucket-probe';
import { MinioKeyRotation } from '../../../functions/shared/rotation/minio-key-rotation';
import { minimumRotationIntervalSeconds } from '../../../functions/shared/rotation/rotation-interval';
import { RotationStore } from '../../../functions/shared/rotation/rotation-store';
import { AwsSecretsManagerResolver } from '../../../functions/shared/secrets/aws-secrets-manager-resolver';
import { CachingSecretResolver } from '../../../functions/shared/secrets/caching-secret-resolver';
import { SecretResolvers } from '../../../functions/shared/secrets/secret-resolvers';
import { readEndpoints } from '../services/endpoints';
import { createRegistryTable, dynamoDb, minioRootClient, secretsManager, uniqueName } from '../support/aws';
import { RotationDriver } from '../support/rotation-driver';

const { minio } = readEndpoints();
const sm = secretsManager();
const root = new MinioAdminClient({
  endpoint: minio.endpoint,
  accessKey: minio.rootUser,
  secretKey: minio.rootPassword,
});
const CACHE_TTL_MS = 1000;
const URL_LIFETIME_S = 2;

/** A rotated MinIO secret, a registered bucket on it with 2-second URLs, and one object to fetch. */
async function setUp() {
  const bucket = uniqueName('zero');
  await minioRootClient(minio).send(new CreateBucketCommand({ Bucket: bucket }));
  await minioRootClient(minio).send(
    new PutObjectCommand({ Bucket: bucket, Key: 'object.txt', Body: 'still here' }),
  );
  const parent = uniqueName('fence-parent');
  await root.addUser(parent, randomBytes(24).toString('base64url'));
  await root.attachPolicies(parent, ['readwrite']);
  const adminRef = `gen3/fence/minio-admin/${uniqueName('admin')}`;
  await sm.send(
    new CreateSecretCommand({
      Name: adminRef,
      SecretString: JSON.stringify({ access_key_id: minio.rootUser, secret_access_key: minio.rootPassword }),
    }),
  );
  const name = `gen3/fence/minio/${bucket}`;
  const first = {
    accessKey: `FBB${randomBytes(8).toString('hex').toUpperCase()}`.slice(0, 20),
    secretKey: randomBytes(30).toString('base64url'),
  };
  await root.addServiceAccount({
    targetUser: parent,
    ...first,
    description: `fence-bucket-broker rotation of ${name}`,
  });
  await sm.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({
        access_key_id: first.accessKey,
        secret_access_key: first.secretKey,
        minio_endpoint: minio.endpoint,
        minio_parent_user: parent,
        minio_admin_secret_ref: adminRef,
        minio_bucket: bucket,
      }),
    }),
  );
  const registry = new DynamoDbBucketRegistry(await createRegistryTable(dynamoDb()));
  await registry.create({
    bucket_name: bucket,
    provider: 'minio',
    auth_mode: 'static',
    secrets_backend: 'aws_sm',
    secret_ref: name,
    endpoint: minio.endpoint,
    allowed_ops: ['download'],
    max_expires_in: URL_LIFETIME_S,
  });
  const presign = new PresignService({
    buckets: new CachedBucketLookup(registry),
    credentials: new BucketCredentialsService(
      new SecretResolvers(
        new Map([
          ['aws_sm', new CachingSecretResolver(new AwsSecretsManagerResolver(), { ttlMs: CACHE_TTL_MS })],
        ]),
      ),
      new AssumedRoleCredentials(),
    ),
    presigner: new SigV4Presigner(),
    multipart: new S3MultipartClient(),
  });
  const rotation = new MinioKeyRotation({
    store: new RotationStore(sm),
    adminSecrets: new AwsSecretsManagerResolver(),
    adminClient: (connection) => new MinioAdminClient(connection),
    probe: probeMinioBucket,
  });
  return { bucket, name, presign, driver: new RotationDriver(sm, (event) => rotation.run(event)) };
}

/**
 * Fetches real objects through fresh presigned URLs without pause (4 workers), each fetch
 * delayed by a random part of its URL's remaining life, while `rotate` runs; then reports.
 */
async function fetchWhile(setup: Awaited<ReturnType<typeof setUp>>, rotate: () => Promise<void>) {
  let running = true;
  let requests = 0;
  let failures = 0;
  const worker = async () => {
    while (running) {
      const url = await setup.presign.presign(
        setup.bucket,
        { key: 'object.txt', method: 'GET' },
        { requestId: 'zero' },
      );
      const remaining = Date.parse(url.expires_at) - Date.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.random() * remaining * 0.9)));
      const answer = await fetch(url.url);
      requests++;
      if (answer.status !== 200 || (await answer.text()) !== 'still here') failures++;
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  try {
    await rotate();
  } finally {
    running = false;
    await Promise.all(workers);
  }
  return { requests, failures };
}

describe('Rotation without downtime (real MinIO, presign caches and URLs shortened)', () => {
  it('20 rotations at the interval rule: every one of the fetches succeeds', async () => {
    // Prepare
    const setup = await setUp();
    const intervalMs =
      1000 *
      minimumRotationIntervalSeconds({
        cacheTtlSeconds: CACHE_TTL_MS / 1000,
        cacheJitter: 0.1,
        maxUrlLifetimeSeconds: URL_LIFETIME_S,
        marginSeconds: 0.5,
      });

    // Act
    const outcome = await fetchWhile(setup, async () => {
      // The rule bounds the time between finishes (when AWSCURRENT moves and the key before
      // AWSPREVIOUS is deleted), so each rotation starts an interval after the last one finished.
      for (let round = 0; round < 20; round++) {
        await setup.driver.rotate(setup.name);
        if (round < 19) await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    });
    console.log(
      JSON.stringify({
        bench: 'zero-downtime',
        rotations: 20,
        interval_ms: Math.round(intervalMs),
        ...outcome,
      }),
    );

    // Assess
    expect(outcome.requests).toBeGreaterThan(100);
    expect(outcome.failures).toBe(0);
  }, 300_000);

  it('with the interval rule broken (back-to-back rotations), fetches fail: the test can fail', async () => {
    // Prepare
    const setup = await setUp();

    // Act
    const outcome = await fetchWhile(setup, async () => {
      for (let round = 0; round < 8; round++) await setup.driver.rotate(setup.name);
      // Let URLs and cache entries signed with deleted keys come due.
      await new Promise((resolve) => setTimeout(resolve, URL_LIFETIME_S * 1000));
    });
    console.log(JSON.stringify({ bench: 'zero-downtime-rule-broken', rotations: 8, ...outcome }));

    // Assess
    expect(outcome.failures).toBeGreaterThan(0);
  }, 120_000);
});
