import * as z from 'zod/mini';
import { COMMON_SECRETS_ENVIRONMENT } from '../secrets/secrets-backend';
import { environment as awsSecretsManager } from './aws-secrets-manager/backend';
import { environment as gcp } from './gcp/backend';
import { environment as kubernetes } from './kubernetes/backend';
import { environment as vault } from './vault/backend';

/**
 * Secrets settings every function that resolves secrets shares (the plan's
 * `FENCE_SECRETS_BACKEND` plus each backend's parameters, declared in its own folder). AWS
 * region and endpoint come from the SDK's own variables (`AWS_REGION`, `AWS_ENDPOINT_URL`), so
 * the same code runs against AWS, moto or LocalStack.
 */
export const SecretsEnvironmentSchema = z.object({
  ...COMMON_SECRETS_ENVIRONMENT,
  ...awsSecretsManager,
  ...kubernetes,
  ...vault,
  ...gcp,
});
export type SecretsEnvironment = z.output<typeof SecretsEnvironmentSchema>;
