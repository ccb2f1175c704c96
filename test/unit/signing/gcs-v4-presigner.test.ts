import { generateKeyPairSync } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import fc from 'fast-check';
import { GcsV4Presigner, ServiceAccountKeySigner } from '../../../functions/shared/signing/gcs-v4-presigner';
import { encodeS3Path } from '../../../functions/shared/signing/sigv4-presigner';

describe('Class: GcsV4Presigner', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = {
    client_email: 'signer@gen3-project.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const storage = new Storage({ projectId: 'gen3-project', credentials: key });
  const presigner = new GcsV4Presigner();
  const signer = new ServiceAccountKeySigner(key);

  /** Object names as the presign API accepts them: no control characters, no dot segments. */
  const objectKey = fc
    .array(
      fc
        .string({
          unit: fc.constantFrom(...Array.from("abcXYZ019-_.~!*'() +&=?#%@:;,$/éü€😀")),
          minLength: 1,
          maxLength: 12,
        })
        .filter((segment) => !segment.split('/').some((part) => part === '.' || part === '..')),
      { minLength: 1, maxLength: 3 },
    )
    .map((segments) => segments.join('/'))
    .filter((name) => !name.split('/').some((part) => part === '.' || part === '..'));
  const auditValue = fc.string({
    unit: fc.constantFrom(...Array.from("abc Z09-_.~!*'()&=?#%@:/é😀")),
    maxLength: 16,
  });

  /**
   * The query a multipart URL carries besides the audit fields: a part's `partNumber` and
   * `uploadId` (upload ids are printable ASCII without spaces, as the API accepts them), or the
   * initiate call's empty `uploads`; and a requester-pays `userProject`.
   */
  const multipartQuery = fc.oneof(
    fc.constant({}),
    fc.constant({ uploads: '' }),
    fc.record({
      partNumber: fc.integer({ min: 1, max: 10_000 }).map(String),
      uploadId: fc.string({
        unit: fc.constantFrom(...Array.from({ length: 94 }, (_, index) => String.fromCharCode(33 + index))),
        minLength: 1,
        maxLength: 40,
      }),
    }),
  );
  const userProject = fc.option(fc.constantFrom('gen3-billing', 'my-project-123456'), { nil: undefined });

  it('makes URLs byte-identical to @google-cloud/storage getSignedUrl v4 for the same inputs and key, multipart and requester-pays query included (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('gen3-data', 'dataset.with.dots', 'a-b_c'),
        objectKey,
        fc.constantFrom('GET' as const, 'PUT' as const, 'DELETE' as const),
        fc.integer({ min: 1, max: 604_800 }),
        fc.option(fc.constantFrom('text/plain', 'application/json; charset=utf-8', 'image/png'), {
          nil: undefined,
        }),
        fc.option(fc.record({ user_id: auditValue, username: auditValue, client_id: auditValue }), {
          nil: undefined,
        }),
        multipartQuery,
        userProject,
        async (bucket, name, method, expiresIn, contentType, audit, multipart, project) => {
          // Prepare: the query in the order the service builds it (multipart, audit, userProject).
          const now = new Date(Math.floor(Date.now() / 1000) * 1000);
          const headers: Record<string, string> =
            method === 'PUT' && contentType ? { 'content-type': contentType } : {};
          const query: Record<string, string> = {
            ...multipart,
            ...audit,
            ...(project === undefined ? {} : { userProject: project }),
          };

          // Act
          const ours = await presigner.presign(signer, {
            method,
            bucket,
            encodedKey: encodeS3Path(name),
            headers,
            query,
            expiresIn,
            now,
          });
          const [theirs] = await storage
            .bucket(bucket)
            .file(name)
            .getSignedUrl({
              version: 'v4',
              action: ({ GET: 'read', PUT: 'write', DELETE: 'delete' } as const)[method],
              accessibleAt: now,
              expires: now.getTime() + expiresIn * 1000,
              ...(headers['content-type'] === undefined ? {} : { contentType: headers['content-type'] }),
              queryParams: query,
            });

          // Assess
          expect(ours).toBe(theirs);
        },
      ),
      { numRuns: 200 },
    );
  });
});
