import { AdminEnvironmentSchema } from '../admin/environment';
import { adminSecretsBackend } from '../shared/backends/admin-backend-registry';
import { readEnvironment } from '../shared/config/environment';
import { InvalidRequestError } from '../shared/errors';
import type { BucketRecord } from '../shared/registry/bucket-record';
import { AwsIamKeyDirectory } from '../shared/rotation/iam-key-directory';
import { IamRotationEnrollment, type IamRotationSettings } from '../shared/rotation/iam-rotation-enrollment';
import { staticCredentialsFrom } from '../shared/secrets/secret-shapes';
import type { AdminOperations } from './admin-operations';

/** What `register --rotate` did about rotation, beside the record. */
export interface RegistrationRotation {
  outcome: 'enabled' | 'already_enabled';
  iam_user_name: string;
  rotation_days: number;
}

/**
 * `register --rotate` in this process: the key's IAM user is checked before anything is written
 * (a key that cannot be rotated is refused with `invalid_request`, naming the reason), the
 * bucket is registered as any registration is, then rotation is turned on for its secret.
 * Only a static AWS bucket whose keys are in AWS Secrets Manager can be rotated.
 */
export async function registerWithRotation(
  env: NodeJS.ProcessEnv,
  operations: AdminOperations,
  body: Record<string, unknown>,
  options: { validate: boolean; rotation: IamRotationSettings },
): Promise<{ record: BucketRecord; rotation: RegistrationRotation }> {
  if (body.provider !== 'aws' || body.auth_mode !== 'static') {
    throw new InvalidRequestError(
      'rotate is for static AWS buckets (provider aws, auth_mode static): other keys are not IAM user keys',
      'rotate',
    );
  }
  if (body.secrets_backend !== undefined && body.secrets_backend !== 'aws_sm') {
    throw new InvalidRequestError('rotate needs secrets_backend aws_sm (AWS Secrets Manager)', 'rotate');
  }
  const environment = readEnvironment(AdminEnvironmentSchema, env);
  const backend = adminSecretsBackend('aws_sm', environment);
  const enrollment = new IamRotationEnrollment({
    directory: new AwsIamKeyDirectory(),
    secrets: backend.admin,
    settings: options.rotation,
  });
  const keys = body.secret as Record<string, unknown> | undefined;
  const accessKeyId =
    typeof keys?.access_key_id === 'string'
      ? keys.access_key_id
      : typeof body.secret_ref === 'string'
        ? staticCredentialsFrom(body.secret_ref, await backend.read.get(body.secret_ref, null)).access_key_id
        : undefined;
  if (accessKeyId === undefined) {
    throw new InvalidRequestError(
      'rotate needs the keys: --create-secret with them, or --secret-ref',
      'rotate',
    );
  }
  const assessment = await enrollment.assess(accessKeyId);
  if (!assessment.rotatable) {
    throw new InvalidRequestError(
      `cannot rotate these keys (${assessment.reason}): ${assessment.message}`,
      'rotate',
    );
  }
  const record = await operations.register(body, { validate: options.validate });
  const description =
    record.secret_ref === null ? undefined : await backend.admin.describe(record.secret_ref);
  if (description === undefined) {
    throw new InvalidRequestError(
      `the secret of ${record.bucket_name} is gone: rotation not turned on`,
      'rotate',
    );
  }
  const outcome = await enrollment.enable(description, await backend.read.get(description.ref, null));
  if (outcome.outcome === 'refused') {
    throw new InvalidRequestError(
      `${record.bucket_name} is registered, but rotation was not turned on (${outcome.reason}): ${outcome.message}`,
      'rotate',
    );
  }
  return {
    record,
    rotation: {
      outcome: outcome.outcome,
      iam_user_name: outcome.iam_user_name,
      rotation_days: options.rotation.rotationDays,
    },
  };
}
