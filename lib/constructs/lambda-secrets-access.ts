import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AwsExternalAccountConfig } from '../../functions/shared/backends/gcp/google-credentials';
import type { SecretsBackend } from '../../functions/shared/registry/bucket-record';

/** Where the external-account configuration lands in each function's bundle (`/var/task`). */
export const GOOGLE_CREDENTIALS_BUNDLE_NAME = 'google-external-account.json';

/** Where Vault's CA bundle lands in each function's bundle (`/var/task`). */
export const VAULT_CA_BUNDLE_NAME = 'vault-ca.pem';

/**
 * How the functions reach Vault: its address and the AWS auth method's role, each function
 * logging in as its own execution role (nothing secret is configured anywhere).
 */
export interface LambdaVaultSettings {
  /** `https://vault.example.org:8200`; the functions must reach it over the network. */
  readonly address: string;
  /** The Vault role of the AWS auth method (`auth/<mount>/role/<role>`) bound to the functions' roles. */
  readonly awsAuthRole: string;
  /** Where the AWS auth method is mounted. @default aws */
  readonly awsAuthMount?: string;
  /** The `iam_server_id_header_value` the auth method requires. @default none sent */
  readonly iamServerId?: string;
  /** Region of the STS endpoint Vault is configured with (`sts_endpoint`/`sts_region`). @default the global endpoint */
  readonly stsRegion?: string;
  /** Vault Enterprise / OpenBao namespace. @default none */
  readonly namespace?: string;
  /** KV v2 mount where the admin API creates secrets. @default secret */
  readonly kvMount?: string;
  /** PEM file of the CA(s) that sign Vault's certificate, shipped in each bundle. @default the system roots */
  readonly caCertFile?: string;
}

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
  /** Vault, for the `vault` backend (which needs it). @default none */
  readonly vault?: Partial<LambdaVaultSettings>;
}

/** What the presign, admin and drift-check functions are given, checked at synth. */
export interface LambdaSecretsAccess {
  /** Variables every function that resolves secrets gets. */
  readonly environment: {
    FENCE_SECRETS_BACKEND: string;
    GOOGLE_APPLICATION_CREDENTIALS?: string;
  } & VaultEnvironment;
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
  const vault = vaultAccess(backends.includes('vault'), settings.vault);
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
    ...vault.environment,
  };
  const bundledFiles: Record<string, string> = { ...vault.bundledFiles };
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

/** The Vault variables (secrets-environment.ts) a Lambda is given: AWS auth only. */
type VaultEnvironment = Partial<Record<Exclude<VaultVariable, 'VAULT_AUTH_METHOD'>, string>> & {
  VAULT_AUTH_METHOD?: 'aws';
};
type VaultVariable =
  | 'VAULT_ADDR'
  | 'VAULT_AUTH_METHOD'
  | 'VAULT_AUTH_MOUNT'
  | 'VAULT_ROLE'
  | 'VAULT_AWS_IAM_SERVER_ID'
  | 'VAULT_AWS_STS_REGION'
  | 'VAULT_NAMESPACE'
  | 'VAULT_KV_MOUNT'
  | 'VAULT_CACERT';

/** The context key naming each Vault setting, for the errors a deployer reads. */
const VAULT_CONTEXT = {
  address: 'vaultAddr',
  awsAuthRole: 'vaultAwsAuthRole',
  awsAuthMount: 'vaultAwsAuthMount',
  iamServerId: 'vaultIamServerId',
  stsRegion: 'vaultStsRegion',
  namespace: 'vaultNamespace',
  kvMount: 'vaultKvMount',
  caCertFile: 'vaultCaCertFile',
} as const satisfies Record<keyof LambdaVaultSettings, string>;

/**
 * The `vault` backend on Lambda: Vault's AWS auth method (IAM type) is the one a Lambda can use,
 * since the function's execution role is its identity and nothing secret need be shipped. The
 * address must be https: the login carries a signed request with the role's session token.
 */
function vaultAccess(
  enabled: boolean,
  settings: Partial<LambdaVaultSettings> = {},
): { environment: VaultEnvironment; bundledFiles: Record<string, string> } {
  const given = (Object.keys(VAULT_CONTEXT) as (keyof LambdaVaultSettings)[]).filter(
    (key) => settings[key] !== undefined,
  );
  if (!enabled) {
    if (given.length > 0) {
      throw new Error(
        `${given.map((key) => VAULT_CONTEXT[key]).join(', ')} need vault in secretsBackends (-c secretsBackends=aws_sm,vault)`,
      );
    }
    return { environment: {}, bundledFiles: {} };
  }
  const missing = (['address', 'awsAuthRole'] as const).filter((key) => settings[key] === undefined);
  if (missing.length > 0) {
    throw new Error(
      `secretsBackends vault needs ${missing.map((key) => `-c ${VAULT_CONTEXT[key]}=…`).join(' and ')}: the functions log in to Vault with its AWS auth method as their own execution roles (README, "Vault backend")`,
    );
  }
  const { address, awsAuthRole } = settings as LambdaVaultSettings;
  if (!/^https:\/\/[^/\s]+/.test(address)) {
    throw new Error(
      `vaultAddr must be an https:// address (the login carries the functions' signed AWS request), got ${JSON.stringify(address)}`,
    );
  }
  const bundledFiles: Record<string, string> = {};
  if (settings.caCertFile !== undefined) {
    const source = path.resolve(settings.caCertFile);
    checkCaBundle(source);
    bundledFiles[VAULT_CA_BUNDLE_NAME] = source;
  }
  const optional = (variable: VaultVariable, value: string | undefined) =>
    value === undefined ? {} : { [variable]: value };
  return {
    environment: {
      VAULT_ADDR: address,
      VAULT_AUTH_METHOD: 'aws',
      VAULT_ROLE: awsAuthRole,
      ...optional('VAULT_AUTH_MOUNT', settings.awsAuthMount),
      ...optional('VAULT_AWS_IAM_SERVER_ID', settings.iamServerId),
      ...optional('VAULT_AWS_STS_REGION', settings.stsRegion),
      ...optional('VAULT_NAMESPACE', settings.namespace),
      ...optional('VAULT_KV_MOUNT', settings.kvMount),
      ...optional(
        'VAULT_CACERT',
        settings.caCertFile === undefined ? undefined : `/var/task/${VAULT_CA_BUNDLE_NAME}`,
      ),
    },
    bundledFiles,
  };
}

/** A CA bundle is public, but a private key pasted by mistake is not: ship certificates only. */
function checkCaBundle(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`vaultCaCertFile ${file}: cannot be read (${(error as Error).message})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`vaultCaCertFile ${file}: holds no PEM certificate`);
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new Error(`vaultCaCertFile ${file}: holds a private key; only CA certificates go into a bundle`);
  }
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
