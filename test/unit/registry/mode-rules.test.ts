import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import { brokerOpenApiDocument } from '../../../functions/presign/openapi';
import { BucketRecordSchema } from '../../../functions/shared/registry/bucket-record';
import { isNormalSecretRef, NORMAL_SECRET_REF } from '../../../functions/shared/secrets/secret-ref-formats';

type Operation = {
  requestBody?: { content: { 'application/json': { schema: Record<string, unknown> } } };
  responses: Record<string, { content?: { 'application/json': { schema: Record<string, unknown> } } }>;
};
const document = brokerOpenApiDocument() as { paths: Record<string, Record<string, Operation>> };
const register = document.paths['/v1/admin/buckets']?.post as Operation;

function validator(schema: Record<string, unknown>) {
  // Formats are not the rules under test (the generated values hold them); extension keywords
  // (x-state-refusals and the like) are for people and tools.
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  return ajv.compile(schema);
}

/** Records whose fields each hold their own rule, in every combination the mode rules judge. */
const records = fc.record({
  id: fc.constant('6f1c2a4e-8a41-4a8e-9d0b-3c1f4f2b9a10'),
  bucket_name: fc.constant('mode-rules'),
  provider: fc.constantFrom('aws', 'gcp', 's3_compatible', 'minio', 'azure_blob'),
  auth_mode: fc.constantFrom('role', 'static', 'workload_identity'),
  secrets_backend: fc.constantFrom(null, 'aws_sm', 'gcp_sm', 'vault', 'k8s'),
  secret_ref: fc.constantFrom(
    null,
    'gen3/fence/minio/b',
    'secret/gen3/fence/minio/b',
    'projects/p1/secrets/gen3--fence--b',
    'plain',
    'a//b',
    '/a',
    'a/./b',
    'a/../b',
    'a/',
  ),
  secret_version: fc.constantFrom(null, '1', '7', 'latest', 'AWSCURRENT', 'custom-label', '0'),
  role_arn: fc.constantFrom(null, 'arn:aws:iam::123456789012:role/gen3'),
  external_id: fc.constant(null),
  gcp_service_account: fc.constantFrom(null, 'sa@p1.iam.gserviceaccount.com'),
  kms_key_ref: fc.constant(null),
  endpoint: fc.constantFrom(null, 'https://store.example.org'),
  region: fc.constant(null),
  allowed_ops: fc.constant(['download']),
  max_expires_in: fc.constant(3600),
  status: fc.constant('active'),
  created_at: fc.constant('2026-01-01T00:00:00.000Z'),
  updated_at: fc.constant('2026-01-01T00:00:00.000Z'),
  revision: fc.constant(1),
});

describe('Constant: MODE_RULES_JSON_SCHEMA', () => {
  it("judges a record as checkModeFields does (the document's record schema against the zod schema)", () => {
    // Prepare: the record schema the admin routes answer with.
    const record = register.responses['201']?.content?.['application/json'].schema as Record<string, unknown>;
    const validate = validator(record);

    // Act + Assess
    fc.assert(
      fc.property(records, (candidate) => {
        expect({ candidate, document: validate(candidate) }).toEqual({
          candidate,
          document: BucketRecordSchema.safeParse(candidate).success,
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('states isNormalSecretRef as NORMAL_SECRET_REF', () => {
    const refs = fc.array(fc.constantFrom('a', 'b', '', '.', '..', '...', '.a', 'a b'), { maxLength: 6 });
    fc.assert(
      fc.property(refs, (segments) => {
        const ref = segments.join('/');
        expect({ ref, pattern: NORMAL_SECRET_REF.test(ref) }).toEqual({
          ref,
          pattern: isNormalSecretRef(ref),
        });
      }),
      { numRuns: 3000 },
    );
  });
});

describe('Document: the register body states what BucketAdmin.register refuses before any store call', () => {
  const body = register.requestBody?.content['application/json'].schema as Record<string, unknown>;
  const validate = validator(body);
  const minio = {
    bucket_name: 'mode-rules',
    provider: 'minio',
    auth_mode: 'static',
    endpoint: 'https://store.example.org',
    allowed_ops: ['download'],
  };
  const keys = { access_key_id: 'AKIDEXAMPLE', secret_access_key: 'example-secret-key' };

  it.each([
    [
      'keys without create_secret',
      { ...minio, secrets_backend: 'k8s', secret_ref: 'gen3/fence/x', secret: keys },
    ],
    [
      'keys with create_secret: false',
      { ...minio, secrets_backend: 'k8s', secret_ref: 'gen3/fence/x', create_secret: false, secret: keys },
    ],
    ['create_secret without keys', { ...minio, create_secret: true }],
    [
      'create_secret with a secret_ref',
      { ...minio, create_secret: true, secret: keys, secret_ref: 'gen3/fence/x' },
    ],
    [
      'create_secret with a secret_version',
      { ...minio, create_secret: true, secret: keys, secret_version: '1' },
    ],
    [
      'create_secret with a GCS key for an S3 store',
      { ...minio, create_secret: true, secret: { service_account_key_json: '{}' } },
    ],
    ['a static bucket without its secret', { ...minio, secrets_backend: 'k8s' }],
    [
      'a role on a MinIO store',
      { ...minio, auth_mode: 'role', role_arn: 'arn:aws:iam::123456789012:role/r' },
    ],
    ['a MinIO store without an endpoint', { ...minio, endpoint: null, create_secret: true, secret: keys }],
    [
      'allowed_ops repeated',
      { ...minio, create_secret: true, secret: keys, allowed_ops: ['download', 'download'] },
    ],
  ])('forbids %s', (_what, candidate) => {
    expect(validate(candidate)).toBe(false);
  });

  it.each([
    ['an existing secret', { ...minio, secrets_backend: 'k8s', secret_ref: 'gen3/fence/x' }],
    ['create_secret with S3 keys', { ...minio, create_secret: true, secret: keys }],
    [
      'create_secret: false and a secret_ref',
      { ...minio, secrets_backend: 'k8s', secret_ref: 'gen3/fence/x', create_secret: false },
    ],
  ])('allows %s', (_what, candidate) => {
    expect(validate(candidate)).toBe(true);
  });
});
