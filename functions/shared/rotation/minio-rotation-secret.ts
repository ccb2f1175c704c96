import * as z from 'zod/mini';
import type { SecretPayload } from '../secrets/secret-resolver';
import { readSecretShape } from '../secrets/secret-shapes';
import { RotationError } from './rotation-errors';

/**
 * A MinIO-rotated secret: the plan's static-credential shape plus the non-secret metadata
 * rotation needs (DESIGN.md: endpoint, parent user, admin secret reference), and the bucket the
 * test step proves the new key on (new keys are limited to it).
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

export interface MinioRotationSecretOptions {
  /**
   * Accept an `http` endpoint. The admin credential and every new secret key cross that link,
   * so only tests and local development set it (FENCE_ALLOW_INSECURE_MINIO_HTTP). @default false
   */
  allowInsecureHttp?: boolean;
}

/** Reads a rotated secret's payload; errors name the secret and the field, never a value. */
export function minioRotationSecretFrom(
  ref: string,
  payload: SecretPayload,
  options: MinioRotationSecretOptions = {},
): MinioRotationSecret {
  const secret = readSecretShape(MinioRotationSecretSchema, ref, payload);
  if (options.allowInsecureHttp !== true && new URL(secret.minio_endpoint).protocol !== 'https:') {
    throw new RotationError(
      `secret ${ref}: field "minio_endpoint" must use https (FENCE_ALLOW_INSECURE_MINIO_HTTP=true allows http, for tests and development only)`,
    );
  }
  return secret;
}
