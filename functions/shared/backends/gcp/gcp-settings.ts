import * as z from 'zod/mini';
import { ConfigurationError } from '../../errors';
import { secureEndpointUrl } from '../../http/secure-endpoint';
import type { SecretsBackend } from '../../secrets/backend-names';
import type { CommonSecretsEnvironment } from '../../secrets/secrets-backend';
import type { GoogleIdentityOptions } from './google-credentials';

const nonEmpty = () => z.string().check(z.minLength(1));

/** The GCP backend's variables: Secret Manager and the broker's Google identity. */
export const GCP_ENVIRONMENT = {
  GCP_SECRET_MANAGER_ENDPOINT: z.optional(secureEndpointUrl()).check(
    z.meta({
      description:
        "Secret Manager's endpoint; plain http only to a loopback address (the broker's bearer token travels to it).",
      unset: 'https://secretmanager.googleapis.com',
    }),
  ),
  GCP_SECRET_MANAGER_PROJECT: z
    .optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a GCP project id')))
    .check(
      z.describe(
        'Project (id) where admin flows create `gcp_sm` secrets; without it they only use existing ones.',
      ),
    ),
  GOOGLE_APPLICATION_CREDENTIALS: z
    .optional(nonEmpty())
    .check(
      z.describe(
        'Application Default Credentials for `gcp_sm`: an external-account (workload identity federation from AWS) configuration, or a service-account key file.',
      ),
    ),
  GCP_IAM_CREDENTIALS_ENDPOINT: z.optional(secureEndpointUrl()).check(
    z.meta({
      description:
        "IAM Credentials' endpoint, for signing GCS URLs as workload-identity buckets' service accounts.",
      unset: 'https://iamcredentials.googleapis.com',
    }),
  ),
  GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK: z
    .optional(
      z.pipe(
        z.enum(['true', 'false']),
        z.transform((text) => text === 'true'),
      ),
    )
    .check(
      z.meta({
        description:
          "Tests only: lets the external-account configuration name token and impersonation URLs on a loopback address (a fake of Google's STS and IAM Credentials). Otherwise they must be Google's own https endpoints, since the broker sends its signed AWS request and its federated token there.",
        unset: 'false',
      }),
    ),
  GCP_IMPERSONATE_SERVICE_ACCOUNT: z
    .optional(
      z
        .string()
        .check(
          z.regex(
            /^[a-z0-9][a-z0-9-]{0,62}@[a-z0-9.-]+\.gserviceaccount\.com$/,
            'must be a service account email',
          ),
        ),
    )
    .check(
      z.meta({
        description:
          "The service account this function acts as through workload identity federation, in place of the external-account file's `service_account_impersonation_url`: the deployment gives each function its own (presign reads, the admin API writes).",
        unset: "the file's own",
      }),
    ),
  GCP_CREDENTIALS_SECRET: z
    .optional(z.string().check(z.regex(/^(aws_sm|vault|k8s):.+$/, 'must be <backend>:<ref>')))
    .check(
      z.describe(
        'Development: `<backend>:<ref>` of a secret in another backend holding `service_account_key_json`.',
      ),
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
  /** How the credentials file gives this function its identity. */
  identity: GoogleIdentityOptions;
}

/** The variables that shape a function's Google identity (the loopback allowance defaults to false). */
export type GoogleIdentityEnvironment = Pick<
  GcpEnvironment,
  'GCP_IMPERSONATE_SERVICE_ACCOUNT' | 'GCP_IAM_CREDENTIALS_ENDPOINT'
> &
  Partial<Pick<GcpEnvironment, 'GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK'>>;

/** The identity options of `environment` (`GCP_IMPERSONATE_SERVICE_ACCOUNT` and its endpoint, the loopback allowance). */
export function googleIdentityOptions(environment: GoogleIdentityEnvironment): GoogleIdentityOptions {
  return {
    allowLoopbackEndpoints: environment.GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK === true,
    ...(environment.GCP_IMPERSONATE_SERVICE_ACCOUNT === undefined
      ? {}
      : { serviceAccount: environment.GCP_IMPERSONATE_SERVICE_ACCOUNT }),
    ...(environment.GCP_IAM_CREDENTIALS_ENDPOINT === undefined
      ? {}
      : { iamCredentialsEndpoint: environment.GCP_IAM_CREDENTIALS_ENDPOINT }),
  };
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
  const identity = googleIdentityOptions(environment);
  if (file !== undefined) return { endpoint, credentials: { kind: 'file', path: file }, identity };
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
  return { endpoint, credentials: { kind: 'secret', backend, ref: secret.slice(colon + 1) }, identity };
}
