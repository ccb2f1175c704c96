import * as z from 'zod/mini';
import { SecretShapeError } from '../errors';
import { describeIssue } from '../validation';
import type { SecretPayload } from './secret-resolver';

/**
 * The secret shape conventions of the plan. Unknown fields are allowed: MinIO-rotated secrets
 * also carry non-secret rotation metadata.
 */
const nonEmpty = () => z.string().check(z.minLength(1));
export const S3StaticCredentialsSchema = z.object({
  access_key_id: nonEmpty(),
  secret_access_key: nonEmpty(),
  session_token: z.optional(nonEmpty()),
  ca_bundle_pem: z.optional(nonEmpty()),
  client_cert_pem: z.optional(nonEmpty()),
  client_key_pem: z.optional(nonEmpty()),
});
export type S3StaticCredentials = z.infer<typeof S3StaticCredentialsSchema>;

export const GcpServiceAccountSecretSchema = z.object({
  service_account_key_json: z.string().check(z.minLength(2)),
});
export type GcpServiceAccountSecret = z.infer<typeof GcpServiceAccountSecretSchema>;

// Payloads are frozen and cached, so each payload is validated once per shape, not per request.
const validated = new WeakMap<z.ZodMiniType, WeakMap<SecretPayload, unknown>>();

/** Reads `payload` as `schema`, or throws a `SecretShapeError` naming the ref and the field. */
export function readSecretShape<S extends z.ZodMiniType>(
  schema: S,
  ref: string,
  payload: SecretPayload,
): z.output<S> {
  let byPayload = validated.get(schema);
  if (byPayload === undefined) {
    byPayload = new WeakMap();
    validated.set(schema, byPayload);
  }
  const known = byPayload.get(payload);
  if (known !== undefined) return known as z.output<S>;
  const result = schema.safeParse(payload);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.length ? issue.path.join('.') : undefined;
    throw new SecretShapeError(ref, field, issue ? describeIssue(issue) : 'is invalid');
  }
  byPayload.set(payload, result.data);
  return result.data;
}

/** The S3/MinIO static credentials in `payload`. */
export function staticCredentialsFrom(ref: string, payload: SecretPayload): S3StaticCredentials {
  return readSecretShape(S3StaticCredentialsSchema, ref, payload);
}

/**
 * The service-account key in `payload`'s `service_account_key_json`: a key file's JSON with at
 * least `client_email` and `private_key`. Errors name the ref and the field, never the key.
 */
export function serviceAccountKeyFrom(
  ref: string,
  payload: SecretPayload,
): { client_email: string; private_key: string; project_id?: string } {
  const { service_account_key_json: json } = readSecretShape(GcpServiceAccountSecretSchema, ref, payload);
  let key: unknown;
  try {
    key = JSON.parse(json);
  } catch {
    throw new SecretShapeError(ref, 'service_account_key_json', 'is not valid JSON');
  }
  const {
    client_email: email,
    private_key: privateKey,
    project_id: project,
  } = (key ?? {}) as Record<string, unknown>;
  if (typeof email !== 'string' || typeof privateKey !== 'string' || !privateKey.includes('PRIVATE KEY')) {
    throw new SecretShapeError(
      ref,
      'service_account_key_json',
      'must be a service-account key with client_email and private_key',
    );
  }
  return {
    client_email: email,
    private_key: privateKey,
    ...(typeof project === 'string' && project !== '' ? { project_id: project } : {}),
  };
}
