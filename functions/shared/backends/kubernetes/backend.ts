import * as z from 'zod/mini';
import { ConfigurationError } from '../../errors';
import type { SecretsBackendEnvironment } from '../../secrets/secrets-backend';
import { FileSecretResolver } from './file-secret-resolver';

/** Kubernetes secrets (`k8s`), mounted as files into the function or the pod. */
export const environment = {
  FENCE_SECRETS_DIR: z
    .optional(z.string().check(z.minLength(1)))
    .check(z.describe('Directory of mounted secret files, for the `k8s` backend.')),
};
export type KubernetesEnvironment = SecretsBackendEnvironment<typeof environment>;

export function createResolver(settings: KubernetesEnvironment): FileSecretResolver {
  if (settings.FENCE_SECRETS_DIR === undefined) {
    throw new ConfigurationError(
      'FENCE_SECRETS_BACKEND names k8s, which needs FENCE_SECRETS_DIR (the mounted secrets)',
    );
  }
  return new FileSecretResolver(settings.FENCE_SECRETS_DIR);
}
