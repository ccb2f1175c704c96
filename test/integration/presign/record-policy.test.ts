import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { SecretResolvers } from '../../../functions/shared/backends/backend-registry';
import { FileSecretResolver } from '../../../functions/shared/backends/kubernetes/file-secret-resolver';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import { RecordPolicyError } from '../../../functions/shared/errors';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import type { BucketRegistration } from '../../../functions/shared/registry/bucket-record';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import type { SecretsBackend } from '../../../functions/shared/secrets/backend-names';
import { CachingSecretResolver } from '../../../functions/shared/secrets/caching-secret-resolver';
import { SigV4Presigner } from '../../../functions/shared/signing/sigv4-presigner';
import { secretsManager, uniqueName } from '../support/aws';
import { CountingResolver } from '../support/counting-resolver';
import { presignBed } from '../support/presign-bed';

const context = { requestId: 'policy-1' };

/**
 * Presign re-checks the record policy on every request, for every backend: a mirror item (written
 * by hand, or by a sync or a release that did not check) whose secret lies outside the prefix or
 * under its admin sub-path is refused before any secret is read, and no URL outlives the
 * deployment's cap. The keys behind each refused ref are real and work on the bucket, so without
 * the check the URL would be signed.
 */
describe('Class: PresignService (record policy at request time; MinIO, moto Secrets Manager and DynamoDB, mounted files)', () => {
  let bed: Awaited<ReturnType<typeof presignBed>>;
  let directory: string;
  let reads: Map<SecretsBackend, CountingResolver>;
  let service: PresignService;

  /** Writes the bucket's working keys as a mounted-secret file at `path`. */
  const mountKeys = (path: string) => {
    const file = join(directory, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(bed.store.keys));
  };

  /** A mirror item for the bed's bucket reading `ref` from `backend`, written straight to the table. */
  const mirrorItem = async (
    backend: SecretsBackend,
    ref: string,
    extra: Partial<BucketRegistration> = {},
  ) => {
    const { id: _id, created_at: _c, updated_at: _u, revision: _r, ...registration } = bed.record;
    return bed.registry.create({
      ...registration,
      bucket_name: uniqueName('policy'),
      secrets_backend: backend,
      secret_ref: ref,
      ...extra,
    });
  };

  const outcome = async (bucket: string, expiresIn = 60) =>
    service.presign(bucket, { key: 'k', method: 'GET', expires_in: expiresIn }, context).then(
      (url) => ({ url }),
      (error: unknown) => ({ error }),
    );

  beforeAll(async () => {
    bed = await presignBed();
    directory = mkdtempSync(join(tmpdir(), 'fbb-policy-'));
    // Every backend reads files that hold the bucket's working keys, so only the check stands
    // between a ref and a URL; Vault's and GCP's refs name their files by the ref itself.
    reads = new Map<SecretsBackend, CountingResolver>([
      ['aws_sm', new CountingResolver(new AwsSecretsManagerResolver())],
      ['k8s', new CountingResolver(new FileSecretResolver(directory))],
      ['vault', new CountingResolver(new FileSecretResolver(directory))],
      ['gcp_sm', new CountingResolver(new FileSecretResolver(directory))],
    ]);
    const resolvers = new SecretResolvers(
      new Map([...reads].map(([name, resolver]) => [name, new CachingSecretResolver(resolver)])),
    );
    service = new PresignService({
      buckets: new CachedBucketLookup(bed.registry, { ttlMs: 0 }),
      credentials: new BucketCredentialsService(resolvers, bed.roles),
      presigner: new SigV4Presigner(),
      multipart: new MultipartStoreClient(),
      policy: { secretsPrefix: 'gen3/fence/', maxExpiresInCap: 900 },
    });
  }, 60_000);

  it.each([
    ['aws_sm', 'gen3/fence/admin/minio/root', 'secret_under_admin_path'],
    ['aws_sm', 'other-team/minio/keys', 'secret_outside_prefix'],
    ['k8s', 'gen3/fence/admin/minio/root', 'secret_under_admin_path'],
    ['k8s', 'elsewhere/minio/keys', 'secret_outside_prefix'],
    ['vault', 'secret/gen3/fence/admin/minio/root', 'secret_under_admin_path'],
    ['vault', 'secret/other/minio/keys', 'secret_outside_prefix'],
    ['gcp_sm', 'projects/p1/secrets/gen3--fence--admin--minio', 'secret_under_admin_path'],
    ['gcp_sm', 'projects/p1/secrets/other--keys', 'secret_outside_prefix'],
  ] as const)('refuses a %s item reading %s (%s) before reading it', async (backend, ref, rule) => {
    // Prepare: the ref holds the bucket's real keys
    if (backend === 'aws_sm') {
      await secretsManager()
        .send(new CreateSecretCommand({ Name: ref, SecretString: JSON.stringify(bed.store.keys) }))
        .catch((error: { name?: string }) => {
          if (error.name !== 'ResourceExistsException') throw error;
        });
    } else {
      mountKeys(ref);
    }
    const item = await mirrorItem(backend, ref);
    const before = reads.get(backend)?.calls;

    // Act
    const result = await outcome(item.bucket_name);

    // Assess
    expect(result).toEqual({ error: expect.any(RecordPolicyError) });
    const error = (result as { error: RecordPolicyError }).error;
    expect({ code: error.code, status: error.status, rule: error.rule, field: error.field }).toEqual({
      code: 'bucket_misconfigured',
      status: 502,
      rule,
      field: 'secret_ref',
    });
    expect(error.message).not.toContain(ref);
    expect(reads.get(backend)?.calls).toBe(before);
  });

  it('refuses the ARN of an admin secret as it refuses its name', async () => {
    // Prepare
    const created = await secretsManager().send(
      new CreateSecretCommand({
        Name: `gen3/fence/admin/minio/${uniqueName('arn')}`,
        SecretString: JSON.stringify(bed.store.keys),
      }),
    );
    const item = await mirrorItem('aws_sm', String(created.ARN));

    // Act
    const result = await outcome(item.bucket_name);

    // Assess
    expect((result as { error: RecordPolicyError }).error).toMatchObject({
      code: 'bucket_misconfigured',
      rule: 'secret_under_admin_path',
    });
  });

  it('signs an item under the prefix, from every backend that holds the keys there', async () => {
    // Prepare: the controls, so the refusals above are the rule's and nothing else's
    mountKeys('gen3/fence/minio/control');
    const item = await mirrorItem('k8s', 'gen3/fence/minio/control');

    // Act
    const result = await outcome(item.bucket_name);

    // Assess
    expect(result).toEqual({ url: expect.objectContaining({ method: 'GET' }) });
    expect(await fetch((result as { url: { url: string } }).url.url).then((answer) => answer.status)).toBe(
      404,
    );
    expect(await outcome(bed.record.bucket_name)).toEqual({
      url: expect.objectContaining({ method: 'GET' }),
    });
  });

  it("never signs longer than the deployment's cap, whatever max_expires_in the item states", async () => {
    // Prepare: an item above the cap of 900 s (the schema allows up to 7 days)
    const item = await mirrorItem('aws_sm', String(bed.record.secret_ref), { max_expires_in: 604_800 });

    // Act
    const result = await outcome(item.bucket_name, 86_400);

    // Assess
    const url = new URL((result as { url: { url: string } }).url.url);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
  });
});
