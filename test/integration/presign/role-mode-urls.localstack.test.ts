import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SecretResolvers } from '../../../functions/shared/backends/backend-registry';
import { AssumedRoleCredentials } from '../../../functions/shared/credentials/assumed-role-credentials';
import { BucketCredentialsService } from '../../../functions/shared/credentials/bucket-credentials';
import { MultipartStoreClient } from '../../../functions/shared/presign/multipart-store-client';
import { PresignService } from '../../../functions/shared/presign/presign-service';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { SigV4Presigner } from '../../../functions/shared/signing/sigv4-presigner';
import { roleRegistration } from '../../fixtures/bucket-records';
import { readEndpoints } from '../services/endpoints';
import { createRegistryTable, dynamoDb, uniqueName } from '../support/aws';
import { localstackStore } from '../support/signing-stores';

const context = { requestId: 'req-role' };

/**
 * Role mode end to end needs an S3 that knows the STS that issued the credentials: LocalStack's
 * S3 checks a URL signed with credentials from LocalStack's STS against the secret key that STS
 * issued (MinIO knows no AWS STS; moto's S3 checks no signature). LocalStack run only.
 */
describe('Class: PresignService (role mode: LocalStack STS credentials, URLs fetched from LocalStack S3)', () => {
  it('makes GET and PUT URLs with assumed-role credentials that the store accepts, and refuses once tampered with', async () => {
    // Prepare: LocalStack keeps buckets per account, so the role is in the account the setup
    // keys create the bucket in (LocalStack's default, 000000000000).
    const store = localstackStore(readEndpoints().aws.localstack ?? '');
    const bucket = uniqueName('role');
    await store.client().send(new CreateBucketCommand({ Bucket: bucket }));
    await store.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'seeded.txt', Body: 'seeded' }));
    const registry = new DynamoDbBucketRegistry(await createRegistryTable(dynamoDb()));
    await registry.create(
      roleRegistration({
        bucket_name: bucket,
        role_arn: 'arn:aws:iam::000000000000:role/gen3-bucket-access',
        endpoint: store.endpoint,
        allowed_ops: ['download', 'upload'],
      }),
    );
    const roles = new AssumedRoleCredentials({ durationSeconds: 900 });
    const service = new PresignService({
      buckets: new CachedBucketLookup(registry),
      credentials: new BucketCredentialsService(new SecretResolvers(new Map()), roles),
      presigner: new SigV4Presigner(),
      multipart: new MultipartStoreClient(),
    });

    // Act: URLs of ten minutes, well within the credentials' fifteen (one AssumeRole for all).
    const get = await service.presign(bucket, { key: 'seeded.txt', method: 'GET', expires_in: 600 }, context);
    const downloaded = await fetch(get.url);
    const put = await service.presign(
      bucket,
      { key: 'uploaded.txt', method: 'PUT', content_type: 'text/plain', expires_in: 600 },
      context,
    );
    const uploaded = await fetch(put.url, { method: 'PUT', body: 'by role', headers: put.headers });
    const readBack = await fetch(
      (await service.presign(bucket, { key: 'uploaded.txt', method: 'GET', expires_in: 600 }, context)).url,
    );
    const token = new URL(get.url).searchParams.get('X-Amz-Security-Token') ?? '';
    const otherToken = await fetch(
      get.url.replace(encodeURIComponent(token), encodeURIComponent(`${token}x`)),
    );
    const otherKey = await fetch(get.url.replace('seeded.txt', 'seeded.txT'));

    // Assess
    expect(roles.calls).toBe(1);
    expect(token).not.toBe('');
    expect(downloaded.status).toBe(200);
    expect(await downloaded.text()).toBe('seeded');
    expect(uploaded.status).toBe(200);
    expect(await readBack.text()).toBe('by role');
    for (const refused of [otherToken, otherKey]) {
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    }
  });
});
