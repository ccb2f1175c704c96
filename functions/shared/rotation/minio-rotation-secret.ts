import * as z from 'zod/mini';
import type { SecretPayload } from '../secrets/secret-resolver';
import { readSecretShape } from '../secrets/secret-shapes';

/**
 * A MinIO-rotated secret: the plan's static-credential shape plus the non-secret metadata
 * rotation needs (DESIGN.md: endpoint, parent user, admin secret reference), and the bucket the
 * test step proves the new key on.
 */
export const MinioRotationSecretSchema = z.object({
  access_key_id: z.string().check(z.minLength(3), z.maxLength(20)),
  secret_access_key: z.string().check(z.minLength(8), z.maxLength(40)),
  minio_endpoint: z.url({ protocol: /^https?$/ }),
  minio_parent_user: z.string().check(z.minLength(3)),
  minio_admin_secret_ref: z.string().check(z.minLength(1)),
  minio_bucket: z.string().check(z.minLength(3)),
  ca_bundle_pem: z.optional(z.string().check(z.minLength(1))),
});
export type MinioRotationSecret = z.infer<typeof MinioRotationSecretSchema>;

export function minioRotationSecretFrom(ref: string, payload: SecretPayload): MinioRotationSecret {
  return readSecretShape(MinioRotationSecretSchema, ref, payload);
}
