import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AwsExternalAccountConfig } from '../../functions/shared/gcp/google-credentials';
import type { SecretsBackend } from '../../functions/shared/registry/bucket-record';

/** Where the external-account configuration lands in each function's bundle (`/var/task`). */
export const GOOGLE_CREDENTIALS_BUNDLE_NAME = 'google-external-account.json';

/** How the broker's Lambdas reach their secrets backends and Google. */
export interface LambdaSecretsSettings {
  /** Backends the functions serve (`FENCE_SECRETS_BACKEND`). @default ['aws_sm'] */
  readonly backends?: readonly SecretsBackend[];
  /**
   * A workload identity federation ("external_account") configuration for AWS: the functions'
   * Google identity, for `gcp_sm` and for GCS buckets signed through workload identity. It holds
   * no secret (audience, token URL, AWS URLs). @default none: no Google identity
   */
  readonly gcpExternalAccountFile?: string;
  /** Project where the admin API creates `gcp_sm` secrets. @default none: existing secrets only */
  readonly gcpSecretManagerProject?: string;
  /**
   * Project billed for requester-pays access to GCS buckets (`GCP_REQUESTER_PAYS_PROJECT` of the
   * presign function). @default none: the project of the service account that signs
   */
  readonly gcpRequesterPaysProject?: string;
}

/** What the presign, admin and drift-check functions are given, checked at synth. */
export interface LambdaSecretsAccess {
  /** Variables every function that resolves secrets gets. */
  readonly environment: { FENCE_SECRETS_BACKEND: string; GOOGLE_APPLICATION_CREDENTIALS?: string };
  /** Files copied into each such function's bundle: name in the bundle → path at synth. */
  readonly bundledFiles: Record<string, string>;
  /** For the admin function only (`GCP_SECRET_MANAGER_PROJECT`). */
  readonly gcpSecretManagerProject?: string;
  /** For the presign function only (`GCP_REQUESTER_PAYS_PROJECT`). */
  readonly gcpRequesterPaysProject?: string;
}

/**
 * Checks the settings against what a Lambda can do, and reads the external-account
 * configuration, so a deployment that could not reach its secrets fails at synth rather than at
 * its first request.
 */
export function lambdaSecretsAccess(settings: LambdaSecretsSettings = {}): LambdaSecretsAccess {
  const backends = settings.backends?.length ? [...new Set(settings.backends)] : ['aws_sm' as const];
  if (backends.includes('k8s')) {
    throw new Error(
      'secretsBackends: k8s reads secrets from mounted files, and a Lambda has none; use aws_sm or gcp_sm (run the broker on Kubernetes for k8s)',
    );
  }
  if (backends.includes('vault')) {
    throw new Error(
      "secretsBackends: vault cannot be deployed to Lambda in this release: its Vault auth methods (kubernetes, approle, token) need a mounted file or a secret in the environment; Vault's AWS IAM auth method is future work. Use aws_sm or gcp_sm",
    );
  }
  const file = settings.gcpExternalAccountFile;
  if (backends.includes('gcp_sm') && file === undefined) {
    throw new Error(
      "secretsBackends gcp_sm needs the functions' Google identity: -c gcpExternalAccountFile=path/to/external-account.json (workload identity federation from AWS)",
    );
  }
  if (settings.gcpSecretManagerProject !== undefined && !backends.includes('gcp_sm')) {
    throw new Error('gcpSecretManagerProject needs gcp_sm in secretsBackends');
  }
  const environment = {
    FENCE_SECRETS_BACKEND: backends.join(','),
    ...(file === undefined
      ? {}
      : { GOOGLE_APPLICATION_CREDENTIALS: `/var/task/${GOOGLE_CREDENTIALS_BUNDLE_NAME}` }),
  };
  const bundledFiles: Record<string, string> = {};
  if (file !== undefined) {
    const source = path.resolve(file);
    checkExternalAccount(source);
    bundledFiles[GOOGLE_CREDENTIALS_BUNDLE_NAME] = source;
  }
  return {
    environment,
    bundledFiles,
    ...(settings.gcpSecretManagerProject === undefined
      ? {}
      : { gcpSecretManagerProject: settings.gcpSecretManagerProject }),
    ...(settings.gcpRequesterPaysProject === undefined
      ? {}
      : { gcpRequesterPaysProject: settings.gcpRequesterPaysProject }),
  };
}

/**
 * Refuses anything but an AWS external-account configuration. A service-account key is a secret:
 * it would sit readable in the bundle (and in the CDK asset bucket) of every function.
 */
function checkExternalAccount(file: string): void {
  const refuse = (problem: string) => new Error(`gcpExternalAccountFile ${file}: ${problem}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw refuse(`cannot be read (${(error as Error).message})`);
  }
  let config: Partial<Omit<AwsExternalAccountConfig, 'type'>> & { type?: unknown };
  try {
    config = JSON.parse(text);
  } catch {
    throw refuse('is not JSON');
  }
  if (config?.type === 'service_account') {
    throw refuse(
      'is a service-account key; a key never goes into a Lambda bundle or environment. Give a workload identity federation configuration for AWS (gcloud iam workload-identity-pools create-cred-config … --aws)',
    );
  }
  if (config?.type !== 'external_account') {
    throw refuse(`must be an external_account configuration, not ${JSON.stringify(config?.type)}`);
  }
  if (!String(config.credential_source?.environment_id ?? '').startsWith('aws')) {
    throw refuse('must federate from AWS (credential_source.environment_id aws1)');
  }
  for (const key of ['audience', 'subject_token_type', 'token_url'] as const) {
    if (typeof config[key] !== 'string' || config[key] === '') throw refuse(`has no ${key}`);
  }
  if (typeof config.credential_source?.regional_cred_verification_url !== 'string') {
    throw refuse('has no credential_source.regional_cred_verification_url');
  }
}
