import * as z from 'zod/mini';
import type { SecretsBackendEnvironment } from '../../secrets/secrets-backend';
import { AwsSecretsManagerResolver } from './aws-secrets-manager-resolver';

/** AWS Secrets Manager (`aws_sm`): region and endpoint come from the SDK's own variables. */
export const environment = {
  FENCE_SECRETS_KMS_KEY_ID: z
    .optional(z.string().check(z.minLength(1)))
    .check(z.describe('KMS key for secrets the admin flows create.')),
};
export type AwsSecretsManagerEnvironment = SecretsBackendEnvironment<typeof environment>;

/** Reads through the hot-path JSON client; loaded eagerly, as most deployments use it. */
export function createResolver(settings: AwsSecretsManagerEnvironment): AwsSecretsManagerResolver {
  return new AwsSecretsManagerResolver(
    settings.FENCE_SECRETS_KMS_KEY_ID === undefined ? {} : { kmsKeyId: settings.FENCE_SECRETS_KMS_KEY_ID },
  );
}
