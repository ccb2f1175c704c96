import fc from 'fast-check';
import { InvalidRequestError } from '../../../functions/shared/errors';
import {
  applyBucketChanges,
  type BucketRecord,
  BucketRecordSchema,
  BucketRegistrationSchema,
  readStoredRecord,
} from '../../../functions/shared/registry/bucket-record';
import { minioRegistration, roleRegistration } from '../../fixtures/bucket-records';

function stored(overrides: Partial<BucketRecord> = {}): BucketRecord {
  return BucketRecordSchema.parse({
    ...minioRegistration(),
    id: '6f1f7d1e-2b1a-4c35-9f0c-2f6b8f1f0a11',
    created_at: '2026-11-01T00:00:00.000Z',
    updated_at: '2026-11-01T00:00:00.000Z',
    revision: 3,
    ...overrides,
  });
}

describe('Schema: BucketRecord', () => {
  it('fills defaults: status active, max_expires_in 3600, absent references null', () => {
    const record = BucketRegistrationSchema.parse(roleRegistration());
    expect(record).toMatchObject({
      status: 'active',
      max_expires_in: 3600,
      secret_ref: null,
      secrets_backend: null,
    });
  });

  it.each([
    ['static without secret_ref', minioRegistration({ secret_ref: null }), 'secret_ref'],
    ['static without backend', minioRegistration({ secrets_backend: null }), 'secrets_backend'],
    ['static with a role', minioRegistration({ role_arn: 'arn:aws:iam::123456789012:role/x' }), 'role_arn'],
    ['role without role_arn', roleRegistration({ role_arn: null }), 'role_arn'],
    [
      'role with a secret',
      roleRegistration({ secret_ref: 'gen3/fence/x', secrets_backend: 'aws_sm' }),
      'secrets_backend',
    ],
    ['role on gcp', roleRegistration({ provider: 'gcp' }), 'auth_mode'],
    ['minio without endpoint', minioRegistration({ endpoint: null }), 'endpoint'],
    ['a pin without a ref', roleRegistration({ secret_version: 'AWSPREVIOUS' }), 'secret_version'],
    ['reserved provider', minioRegistration({ provider: 'azure_blob' }), 'provider'],
    [
      'workload identity without account',
      { ...roleRegistration(), provider: 'gcp', auth_mode: 'workload_identity', role_arn: null },
      'gcp_service_account',
    ],
    [
      'workload identity with a secrets backend',
      {
        ...roleRegistration(),
        provider: 'gcp',
        auth_mode: 'workload_identity',
        role_arn: null,
        gcp_service_account: 'reader@project.iam.gserviceaccount.com',
        secrets_backend: 'vault',
      },
      'secrets_backend',
    ],
    [
      'a vault ref without a mount',
      minioRegistration({ secrets_backend: 'vault', secret_ref: 'gen3' }),
      'secret_ref',
    ],
    [
      'a vault ref with a dot segment',
      minioRegistration({ secrets_backend: 'vault', secret_ref: 'secret/gen3/../admin' }),
      'secret_ref',
    ],
    [
      'an aws_sm ref with a ".." segment',
      minioRegistration({ secrets_backend: 'aws_sm', secret_ref: 'gen3/fence/x/../admin/minio/m' }),
      'secret_ref',
    ],
    [
      'a k8s ref with a ".." segment',
      minioRegistration({ secrets_backend: 'k8s', secret_ref: 'gen3/fence/x/../admin/minio/m' }),
      'secret_ref',
    ],
    [
      'a k8s ref with a "." segment',
      minioRegistration({ secrets_backend: 'k8s', secret_ref: './gen3/fence/minio/m' }),
      'secret_ref',
    ],
    [
      'a k8s ref with an empty segment',
      minioRegistration({ secrets_backend: 'k8s', secret_ref: 'gen3/fence//admin/minio/m' }),
      'secret_ref',
    ],
    [
      'an absolute k8s ref',
      minioRegistration({ secrets_backend: 'k8s', secret_ref: '/gen3/fence/minio/m' }),
      'secret_ref',
    ],
    [
      'a vault pin that is a label',
      minioRegistration({
        secrets_backend: 'vault',
        secret_ref: 'secret/gen3/fence/b',
        secret_version: 'AWSCURRENT',
      }),
      'secret_version',
    ],
    [
      'a gcp_sm ref that is a bare name',
      minioRegistration({ secrets_backend: 'gcp_sm', secret_ref: 'gen3-fence-b' }),
      'secret_ref',
    ],
    [
      'a gcp_sm pin that is neither a number nor latest',
      minioRegistration({
        secrets_backend: 'gcp_sm',
        secret_ref: 'projects/p1/secrets/gen3-fence-b',
        secret_version: 'current',
      }),
      'secret_version',
    ],
    ['repeated operation', roleRegistration({ allowed_ops: ['download', 'download'] }), 'allowed_ops'],
    ['no operation', roleRegistration({ allowed_ops: [] }), 'allowed_ops'],
    ['lifetime past seven days', roleRegistration({ max_expires_in: 604_801 }), 'max_expires_in'],
    ['uppercase name', roleRegistration({ bucket_name: 'Dataset' }), 'bucket_name'],
    ['a malformed role ARN', roleRegistration({ role_arn: 'arn:aws:iam::12:role/x' }), 'role_arn'],
    ['an unknown field', { ...roleRegistration(), secret_access_key: 'x' }, undefined],
  ])('refuses %s, naming the field', (_case, input, field) => {
    const result = BucketRegistrationSchema.safeParse(input);
    expect(result.success).toBe(false);
    if (field !== undefined) expect(result.error?.issues.map((issue) => issue.path[0])).toContain(field);
  });

  it('reads a stored record whose secret_ref has a ".." segment as bucket_misconfigured naming secret_ref', () => {
    // A row written past the admin API (Fence DB, the mirror by hand) meets the same rule.
    const raw = { ...stored(), secrets_backend: 'k8s', secret_ref: 'gen3/fence/x/../admin/minio/m' };
    expect(() => readStoredRecord(raw, raw.bucket_name)).toThrow(
      expect.objectContaining({ code: 'bucket_misconfigured', field: 'secret_ref' }),
    );
  });

  it('accepts a workload-identity GCP bucket with no secret', () => {
    const input = {
      bucket_name: 'gcs-dataset',
      provider: 'gcp',
      auth_mode: 'workload_identity',
      gcp_service_account: 'reader@project.iam.gserviceaccount.com',
      allowed_ops: ['download'],
    };
    expect(BucketRegistrationSchema.safeParse(input).success).toBe(true);
  });

  it("accepts vault and gcp_sm refs in their backends' formats, with version-number pins", () => {
    const vault = minioRegistration({
      secrets_backend: 'vault',
      secret_ref: 'secret/gen3/fence/b',
      secret_version: '3',
    });
    const gcp = minioRegistration({
      secrets_backend: 'gcp_sm',
      secret_ref: 'projects/my-project/secrets/gen3-fence-b',
      secret_version: 'latest',
    });
    expect(BucketRegistrationSchema.safeParse(vault).success).toBe(true);
    expect(BucketRegistrationSchema.safeParse(gcp).success).toBe(true);
  });

  it('applies changes: bumps the revision and updated_at, keeps id, name and created_at', () => {
    const record = stored();
    const next = applyBucketChanges(
      record,
      { secret_version: 'AWSPREVIOUS', status: 'suspended' },
      new Date('2026-11-02T00:00:00Z'),
    );
    expect(next).toEqual({
      ...record,
      secret_version: 'AWSPREVIOUS',
      status: 'suspended',
      revision: 4,
      updated_at: '2026-11-02T00:00:00.000Z',
    });
  });

  it('refuses changes to fields that never change, and changes that break the record', () => {
    const record = stored();
    const when = new Date();
    expect(() => applyBucketChanges(record, { bucket_name: 'renamed' } as never, when)).toThrow();
    expect(() => applyBucketChanges(record, { endpoint: null }, when)).toThrow(InvalidRequestError);
  });

  it('never lets an absent change field overwrite a stored value (property)', () => {
    fc.assert(
      fc.property(fc.subarray(['status', 'region', 'max_expires_in'] as const), (keys) => {
        const record = stored({ region: 'eu-west-1', max_expires_in: 900, status: 'suspended' });
        const changes = Object.fromEntries(
          keys.map((key) => [key, { status: 'active', region: 'us-west-2', max_expires_in: 60 }[key]]),
        );
        const next = applyBucketChanges(record, changes, new Date());
        for (const key of ['status', 'region', 'max_expires_in'] as const) {
          expect(next[key]).toEqual(keys.includes(key) ? changes[key] : record[key]);
        }
      }),
      { numRuns: 50 },
    );
  });
});
