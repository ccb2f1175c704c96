/**
 * @secrets-manager-on-moto whole rotations through RotationDriver (RotateSecret, then the
 * four steps) need AWS's rotation semantics, which moto_server.py gives moto; LocalStack refuses
 * RotateSecret without the rotation Lambda (localstack-semantics.localstack.test.ts).
 */

import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { SecretResolvers } from '../../../functions/shared/backends/backend-registry';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { readManagedKeyTag } from '../../../functions/shared/rotation/managed-key-tag';
import {
  ReaderRetirementGrace,
  type RetirementGrace,
} from '../../../functions/shared/rotation/retirement-grace';
import { DynamoDbSecretUrlLifetimes } from '../../../functions/shared/rotation/secret-url-lifetimes';
import { CachingSecretResolver } from '../../../functions/shared/secrets/caching-secret-resolver';
import { SigV4Presigner } from '../../../functions/shared/signing/sigv4-presigner';
import { readEndpoints } from '../services/endpoints';
import { createRegistryTable, dynamoDb, secretsManager } from '../support/aws';
import { createRotatingMinioSecret } from '../support/rotating-minio-secret';
import { RotationDriver } from '../support/rotation-driver';
import { fixedGrace, testRotation } from '../support/rotation-fixture';

const { minio } = readEndpoints();
const sm = secretsManager();
const root = new MinioAdminClient({
  endpoint: minio.endpoint,
  accessKey: minio.rootUser,
  secretKey: minio.rootPassword,
});

interface Readers {
  /** The presign side's credentials cache TTL. */
  cacheTtlSeconds: number;
  /** The bucket record's max_expires_in. */
  urlLifetimeSeconds: number;
  /** The rotation side's grace: the real rule over the registry, unless a test breaks it. */
  grace?: RetirementGrace;
}

/**
 * A rotated MinIO secret with one object, a bucket record on it (in moto's DynamoDB), the presign
 * service reading it through the credentials cache, and the rotation function whose grace comes
 * from the same registry (the record's max_expires_in) and the same cache settings.
 */
async function setUp(readers: Readers) {
  const { bucket, name, parent } = await createRotatingMinioSecret(minio, sm, {
    objects: { 'object.txt': 'still here' },
  });
  const tableName = await createRegistryTable(dynamoDb());
  await new DynamoDbBucketRegistry(tableName).create({
    bucket_name: bucket,
    provider: 'minio',
    auth_mode: 'static',
    secrets_backend: 'aws_sm',
    secret_ref: name,
    endpoint: minio.endpoint,
    allowed_ops: ['download'],
    max_expires_in: readers.urlLifetimeSeconds,
  });
  const presign = new PresignService({
    buckets: new CachedBucketLookup(new DynamoDbBucketRegistry(tableName)),
    credentials: new BucketCredentialsService(
      new SecretResolvers(
        new Map([
          [
            'aws_sm',
            new CachingSecretResolver(new AwsSecretsManagerResolver(), {
              ttlMs: readers.cacheTtlSeconds * 1000,
            }),
          ],
        ]),
      ),
      new AssumedRoleCredentials(),
    ),
    presigner: new SigV4Presigner(),
    multipart: new MultipartStoreClient(),
  });
  const grace =
    readers.grace ??
    new ReaderRetirementGrace({
      cacheTtlSeconds: readers.cacheTtlSeconds,
      cacheJitter: 0.1,
      staleOnErrorSeconds: 1,
      marginSeconds: 2,
      defaultMaxUrlLifetimeSeconds: 1,
      urlLifetimes: new DynamoDbSecretUrlLifetimes(dynamoDb(), tableName),
    });
  const rotation = testRotation(sm, { grace });
  const sign = async () =>
    (await presign.presign(bucket, { key: 'object.txt', method: 'GET' }, { requestId: 'zero' })).url;
  return {
    bucket,
    name,
    parent,
    presign,
    sign,
    driver: new RotationDriver(sm, (event) => rotation.run(event)),
  };
}

const fetchAnswer = async (url: string) => {
  const answer = await fetch(url);
  const body = await answer.text();
  return answer.status === 200
    ? `200 ${body}`
    : `${answer.status} ${/<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? ''}`;
};
const signedBy = (url: string) => new URL(url).searchParams.get('X-Amz-Credential')?.split('/')[0];

/**
 * Soak, as a measurement: fetches real objects through fresh presigned URLs without pause (4
 * workers), each delayed by a random part of its URL's life, while `rotate` runs; reports what
 * happened. Fetches whose timer fired after their URL expired (a loaded machine) are counted as
 * late and not sent.
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
        { requestId: 'soak' },
      );
      const expiresAt = Date.parse(url.expires_at);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, Math.random() * (expiresAt - Date.now()) * 0.8)),
      );
      if (Date.now() >= expiresAt - 250) {
        late++;
        continue;
      }
      const answer = await fetchAnswer(url.url);
      requests++;
      if (answer !== '200 still here') failures.push(answer);
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

describe('Rotation without downtime (real MinIO, presign caches and URLs, the grace rule from the registry)', () => {
  it('"rotate now" three times back to back breaks no URL and no cached key (the soak is printed as a measurement)', async () => {
    // Prepare: a URL signed, and the key cached, before the rotations.
    const setup = await setUp({ cacheTtlSeconds: 600, urlLifetimeSeconds: 300 });
    const before = await setup.sign();
    const firstKey = signedBy(before);

    // Act
    for (let round = 0; round < 3; round++) await setup.driver.rotate(setup.name);
    const cached = await setup.sign();

    // Assess: the URL from before and the key still in the cache both work.
    expect(await fetchAnswer(before)).toBe('200 still here');
    expect(signedBy(cached)).toBe(firstKey);
    expect(await fetchAnswer(cached)).toBe('200 still here');
    const first = (await root.listServiceAccounts(setup.parent)).find((key) => key.accessKey === firstKey);
    const demotedAt = readManagedKeyTag(first?.description)?.demotedAt?.getTime() ?? Number.NaN;
    // Grace from the rule: 600 × 1.1 + 300 (the record's max_expires_in) + 1 + 2 seconds.
    expect(Date.parse(first?.expiration ?? '')).toBeGreaterThanOrEqual(demotedAt + 963_000);

    // The soak: short caches and URLs, ten back-to-back rotations, printed as one JSON line.
    const soak = await setUp({ cacheTtlSeconds: 1, urlLifetimeSeconds: 2 });
    const outcome = await fetchWhile(soak, async () => {
      for (let round = 0; round < 10; round++) await soak.driver.rotate(soak.name);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    });
    console.log(
      JSON.stringify({ bench: 'zero-downtime-soak', rotations: 10, back_to_back: true, ...outcome }),
    );
  }, 300_000);

  it('with the rule broken (a grace shorter than URLs live), a URL signed by a retired key is refused: 403 InvalidAccessKeyId', async () => {
    // Prepare: URLs live 300 s, but the rotation is told keys may go 2 s after demotion.
    const graceSeconds = 2;
    const setup = await setUp({
      cacheTtlSeconds: 1,
      urlLifetimeSeconds: 300,
      grace: fixedGrace(graceSeconds),
    });
    const url = await setup.sign();
    expect(await fetchAnswer(url)).toBe('200 still here');

    // Act: demote its key, wait out the (too short) grace, rotate again: the key is retired.
    await setup.driver.rotate(setup.name);
    await new Promise((resolve) => setTimeout(resolve, graceSeconds * 1000 + 500));
    await setup.driver.rotate(setup.name);

    // Assess
    const keys = (await root.listServiceAccounts(setup.parent)).map((key) => key.accessKey);
    expect(keys).not.toContain(signedBy(url));
    expect(await fetchAnswer(url)).toBe('403 InvalidAccessKeyId');
  }, 120_000);
});
