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
import { createRegistryTable, dynamoDb, secretsManager } from '../support/aws';
import { createRotatingMinioSecret } from '../support/rotating-minio-secret';
import { RotationDriver } from '../support/rotation-driver';

const { minio } = readEndpoints();
const sm = secretsManager();
const CACHE_TTL_MS = 1000;
const URL_LIFETIME_S = 2;

/** A rotated MinIO secret, a registered bucket on it with 2-second URLs, and one object to fetch. */
async function setUp() {
  const { bucket, name } = await createRotatingMinioSecret(minio, sm, {
    objects: { 'object.txt': 'still here' },
  });
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
  let late = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (running) {
      const url = await setup.presign.presign(
        setup.bucket,
        { key: 'object.txt', method: 'GET' },
        { requestId: 'zero' },
      );
      const expiresAt = Date.parse(url.expires_at);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, Math.random() * (expiresAt - Date.now()) * 0.8)),
      );
      // A timer that fired after the URL expired (a loaded machine) says nothing about rotation:
      // such fetches are reported as late, not sent.
      if (Date.now() >= expiresAt - 250) {
        late++;
        continue;
      }
      const answer = await fetch(url.url);
      const body = await answer.text();
      requests++;
      if (answer.status !== 200 || body !== 'still here') {
        failures.push(`${answer.status} ${/<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? ''}`.trim());
      }
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  try {
    await rotate();
  } finally {
    running = false;
    await Promise.all(workers);
  }
  return { requests, late, failures: failures.length, reasons: [...new Set(failures)] };
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
    // Refused because the signing key was deleted: downtime caused by rotating too often.
    expect(outcome.reasons).toContain('403 InvalidAccessKeyId');
  }, 120_000);
});
