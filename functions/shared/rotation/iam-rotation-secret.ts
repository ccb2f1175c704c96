import * as z from 'zod/mini';
import type { SecretPayload } from '../secrets/secret-resolver';
import { readSecretShape } from '../secrets/secret-shapes';

/**
 * An IAM-rotated secret: the static AWS shape (`access_key_id`, `secret_access_key`, optional
 * `region`) plus `iam_user_name`, the non-secret name of the IAM user whose keys rotate (like the
 * MinIO fields). testSecret proves a new key on `aws_bucket` when the secret names one, else on
 * a bucket of the registry whose `secret_ref` is this secret.
 */
export const IamRotationSecretSchema = z.object({
  access_key_id: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/, 'must be an AWS access key id')),
  secret_access_key: z.string().check(z.minLength(1)),
  region: z.optional(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region'))),
  iam_user_name: z.string().check(z.regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM user name')),
  aws_bucket: z.optional(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a bucket name')),
  ),
});
export type IamRotationSecret = z.infer<typeof IamRotationSecretSchema>;

/** Reads an IAM-rotated secret's payload; errors name the secret and the field, never a value. */
export function iamRotationSecretFrom(ref: string, payload: SecretPayload): IamRotationSecret {
  return readSecretShape(IamRotationSecretSchema, ref, payload);
}

/** The tag that marks a secret for IAM user key rotation (the rotation role's ABAC condition). */
export const IAM_ROTATION_TAG = { key: 'fence-bucket-broker:rotation', value: 'iam-user-key' } as const;
