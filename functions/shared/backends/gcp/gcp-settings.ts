import type { SecretsEnvironment } from '../secrets-environment';
import { ConfigurationError } from '../../errors';
import type { SecretsBackend } from '../../registry/bucket-record';

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
export function readGcpSecretManagerSettings(environment: SecretsEnvironment): GcpSecretManagerSettings {
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
