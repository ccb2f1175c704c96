import * as z from 'zod/mini';
import { ConfigurationError } from '../../errors';
import type { SecretsBackend } from '../../secrets/backend-names';
import type { CommonSecretsEnvironment } from '../../secrets/secrets-backend';

const nonEmpty = () => z.string().check(z.minLength(1));

/** The GCP backend's variables: Secret Manager and the broker's Google identity. */
export const GCP_ENVIRONMENT = {
  /** Secret Manager's endpoint. @default https://secretmanager.googleapis.com */
  GCP_SECRET_MANAGER_ENDPOINT: z.optional(z.url({ protocol: /^https?$/ })),
  /** Project (id) where admin flows create `gcp_sm` secrets; without it they only use existing ones. */
  GCP_SECRET_MANAGER_PROJECT: z.optional(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a GCP project id')),
  ),
  /**
   * Application Default Credentials for `gcp_sm`: an external-account (workload identity
   * federation from AWS) configuration, or a service-account key file.
   */
  GOOGLE_APPLICATION_CREDENTIALS: z.optional(nonEmpty()),
  /** IAM Credentials' endpoint, for signing GCS URLs as workload-identity buckets' service accounts. @default https://iamcredentials.googleapis.com */
  GCP_IAM_CREDENTIALS_ENDPOINT: z.optional(z.url({ protocol: /^https?$/ })),
  /** Development: `<backend>:<ref>` of a secret in another backend holding `service_account_key_json`. */
  GCP_CREDENTIALS_SECRET: z.optional(
    z.string().check(z.regex(/^(aws_sm|vault|k8s):.+$/, 'must be <backend>:<ref>')),
  ),
};
export type GcpEnvironment = z.output<z.ZodMiniObject<typeof GCP_ENVIRONMENT>> &
  Pick<CommonSecretsEnvironment, 'FENCE_SECRETS_BACKEND'>;

/** Where the `gcp_sm` backend gets its Google credentials. */
export type GcpCredentialsSource =
  /** A credentials file (ADC): workload identity federation from AWS, or a service-account key. */
  | { kind: 'file'; path: string }
  /** A service-account key held in another backend (development). */
  | { kind: 'secret'; backend: SecretsBackend; ref: string };

export interface GcpSecretManagerSettings {
  endpoint: string;
  credentials: GcpCredentialsSource;
}

/**
 * Reads the `gcp_sm` settings, or throws a `ConfigurationError` naming what is missing. Kept
 * apart from the resolver so a deployment checks its settings at cold start while the resolver
 * loads only when a record first names GCP Secret Manager.
 */
export function readGcpSecretManagerSettings(environment: GcpEnvironment): GcpSecretManagerSettings {
  const endpoint = (
    environment.GCP_SECRET_MANAGER_ENDPOINT ?? 'https://secretmanager.googleapis.com'
  ).replace(/\/+$/, '');
  const file = environment.GOOGLE_APPLICATION_CREDENTIALS;
  const secret = environment.GCP_CREDENTIALS_SECRET;
  if (file !== undefined && secret !== undefined) {
    throw new ConfigurationError(
      'give either GOOGLE_APPLICATION_CREDENTIALS or GCP_CREDENTIALS_SECRET, not both',
    );
  }
  if (file !== undefined) return { endpoint, credentials: { kind: 'file', path: file } };
  if (secret === undefined) {
    throw new ConfigurationError(
      'FENCE_SECRETS_BACKEND names gcp_sm, which needs GOOGLE_APPLICATION_CREDENTIALS (workload identity federation or a key file) or GCP_CREDENTIALS_SECRET',
    );
  }
  const colon = secret.indexOf(':');
  const backend = secret.slice(0, colon) as SecretsBackend;
  if (!environment.FENCE_SECRETS_BACKEND.includes(backend)) {
    throw new ConfigurationError(
      `GCP_CREDENTIALS_SECRET names backend ${backend}, which FENCE_SECRETS_BACKEND does not`,
    );
  }
  return { endpoint, credentials: { kind: 'secret', backend, ref: secret.slice(colon + 1) } };
}
