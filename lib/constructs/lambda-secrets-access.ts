import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { externalAccountUrlProblem } from '../../functions/shared/backends/gcp/external-account';
import type { AwsExternalAccountConfig } from '../../functions/shared/backends/gcp/google-credentials';
import type { SecretsBackend } from '../../functions/shared/registry/bucket-record';
import { SECRETS_FUNCTIONS, type SecretsFunction } from '../iam/backend-identities';

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
  /**
   * Each function's own Vault role of the AWS auth method (`auth/<mount>/role/<role>`), bound to
   * that function's execution role alone: presign's policy reads, the admin API's writes, the
   * drift check's reads. Three distinct roles, so presign can never write.
   */
  readonly roles: Partial<Record<SecretsFunction, string>>;
  /** Where the AWS auth method is mounted. @default aws */
  readonly awsAuthMount?: string;
  /** The `iam_server_id_header_value` the auth method requires (required: it ties a signed login to this Vault). */
  readonly iamServerId: string;
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
  /**
   * Each function's own Google service account, which it impersonates through the federation
   * (`GCP_IMPERSONATE_SERVICE_ACCOUNT`) in place of the file's `service_account_impersonation_url`.
   * Required when the file impersonates: one service account for every function would let
   * presign write what the admin API writes. @default none: each function federates as its own
   * execution role
   */
  readonly gcpServiceAccounts?: Partial<Record<SecretsFunction, string>>;
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

export { SECRETS_FUNCTIONS, type SecretsFunction };

/** The context key naming each function's Vault role and Google service account. */
export const IDENTITY_CONTEXT = {
  vault: { presign: 'vaultPresignRole', admin: 'vaultAdminRole', drift: 'vaultDriftRole' },
  gcp: {
    presign: 'gcpPresignServiceAccount',
    admin: 'gcpAdminServiceAccount',
    drift: 'gcpDriftServiceAccount',
  },
} as const satisfies Record<'vault' | 'gcp', Record<SecretsFunction, string>>;

/** A function's own identity variables: its Vault role and the service account it acts as. */
export interface FunctionIdentityEnvironment {
  VAULT_ROLE?: string;
  GCP_IMPERSONATE_SERVICE_ACCOUNT?: string;
}

/** What the presign, admin and drift-check functions are given, checked at synth. */
export interface LambdaSecretsAccess {
  /** Variables every function that resolves secrets gets. */
  readonly environment: {
    FENCE_SECRETS_BACKEND: string;
    GOOGLE_APPLICATION_CREDENTIALS?: string;
  } & VaultEnvironment;
  /** Each function's own identity, added to `environment` by its construct. */
  readonly identities: Readonly<Record<SecretsFunction, FunctionIdentityEnvironment>>;
  /** Whether the functions log in to Vault (each with its role). */
  readonly vault: boolean;
  /** Whether the functions have a Google identity, and the service account each acts as (if any). */
  readonly google?: { readonly serviceAccounts: Partial<Record<SecretsFunction, string>> };
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
export function lambdaSecretsAccess(
  settings: LambdaSecretsSettings = {},
  /** The functions deployed (the admin function only with admin principals). @default all three */
  deployed: readonly SecretsFunction[] = SECRETS_FUNCTIONS,
): LambdaSecretsAccess {
  const backends = settings.backends?.length ? [...new Set(settings.backends)] : ['aws_sm' as const];
  if (backends.includes('k8s')) {
    throw new Error(
      'secretsBackends: k8s reads secrets from mounted files, and a Lambda has none; use aws_sm or gcp_sm (run the broker on Kubernetes for k8s)',
    );
  }
  const vault = vaultAccess(backends.includes('vault'), settings.vault, deployed);
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
  let serviceAccounts: Partial<Record<SecretsFunction, string>> = {};
  if (file !== undefined) {
    const source = path.resolve(file);
    const config = checkExternalAccount(source);
    serviceAccounts = googleServiceAccounts(config, settings.gcpServiceAccounts ?? {}, deployed);
    bundledFiles[GOOGLE_CREDENTIALS_BUNDLE_NAME] = source;
  } else if (Object.values(settings.gcpServiceAccounts ?? {}).some((value) => value !== undefined)) {
    throw new Error(
      `${Object.values(IDENTITY_CONTEXT.gcp).join(', ')} need gcpExternalAccountFile: the federation they act through`,
    );
  }
  const identities = Object.fromEntries(
    SECRETS_FUNCTIONS.map((fn) => [
      fn,
      {
        ...(vault.roles[fn] === undefined ? {} : { VAULT_ROLE: vault.roles[fn] }),
        ...(serviceAccounts[fn] === undefined
          ? {}
          : { GCP_IMPERSONATE_SERVICE_ACCOUNT: serviceAccounts[fn] }),
      },
    ]),
  ) as Record<SecretsFunction, FunctionIdentityEnvironment>;
  return {
    environment,
    identities,
    vault: backends.includes('vault'),
    ...(file === undefined ? {} : { google: { serviceAccounts } }),
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
  | 'VAULT_AWS_IAM_SERVER_ID'
  | 'VAULT_AWS_STS_REGION'
  | 'VAULT_NAMESPACE'
  | 'VAULT_KV_MOUNT'
  | 'VAULT_CACERT';

/** The context key naming each Vault setting, for the errors a deployer reads. */
const VAULT_CONTEXT = {
  address: 'vaultAddr',
  roles: 'vaultPresignRole, vaultAdminRole, vaultDriftRole',
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
  deployed: readonly SecretsFunction[] = SECRETS_FUNCTIONS,
): {
  environment: VaultEnvironment;
  roles: Partial<Record<SecretsFunction, string>>;
  bundledFiles: Record<string, string>;
} {
  const roles = Object.fromEntries(
    Object.entries(settings.roles ?? {}).filter((entry) => entry[1] !== undefined),
  ) as Partial<Record<SecretsFunction, string>>;
  const given = (Object.keys(VAULT_CONTEXT) as (keyof LambdaVaultSettings)[]).filter((key) =>
    key === 'roles' ? Object.keys(roles).length > 0 : settings[key] !== undefined,
  );
  if (!enabled) {
    if (given.length > 0) {
      throw new Error(
        `${given.map((key) => VAULT_CONTEXT[key]).join(', ')} need vault in secretsBackends (-c secretsBackends=aws_sm,vault)`,
      );
    }
    return { environment: {}, roles: {}, bundledFiles: {} };
  }
  const missing = [
    ...(['address', 'iamServerId'] as const)
      .filter((key) => settings[key] === undefined)
      .map((key) => VAULT_CONTEXT[key]),
    ...deployed.filter((fn) => roles[fn] === undefined).map((fn) => IDENTITY_CONTEXT.vault[fn]),
  ];
  if (missing.length > 0) {
    throw new Error(
      `secretsBackends vault needs ${missing.map((key) => `-c ${key}=…`).join(' and ')}: each function logs in to Vault with its AWS auth method as its own execution role, to its own Vault role, and the server id ties the signed login to this Vault (README, "Vault from Lambda")`,
    );
  }
  distinctIdentities('Vault role', IDENTITY_CONTEXT.vault, roles, deployed);
  const { address } = settings as LambdaVaultSettings;
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
    roles,
    bundledFiles,
  };
}

/**
 * Refuses two deployed functions sharing one identity: above all presign and the admin API (presign
 * could then write what the admin API writes), but the drift check reads only, too.
 */
function distinctIdentities(
  what: string,
  keys: Record<SecretsFunction, string>,
  identities: Partial<Record<SecretsFunction, string>>,
  deployed: readonly SecretsFunction[],
): void {
  for (const [index, fn] of deployed.entries()) {
    const other = deployed.slice(index + 1).find((next) => identities[next] === identities[fn]);
    if (other !== undefined && identities[fn] !== undefined) {
      throw new Error(
        `${keys[fn]} and ${keys[other]} name the same ${what} (${JSON.stringify(identities[fn])}): each function needs its own, so ${fn === 'presign' || other === 'presign' ? 'presign can never write what the admin API writes' : 'the drift check can never write'}`,
      );
    }
  }
}

/**
 * Each deployed function's service account. A file that impersonates one service account for
 * every function is refused unless each has its own; without impersonation each function
 * federates as its own execution role, which is already an identity of its own.
 */
function googleServiceAccounts(
  config: Partial<Omit<AwsExternalAccountConfig, 'type'>>,
  given: Partial<Record<SecretsFunction, string>>,
  deployed: readonly SecretsFunction[],
): Partial<Record<SecretsFunction, string>> {
  const accounts = Object.fromEntries(
    Object.entries(given).filter((entry) => entry[1] !== undefined),
  ) as Partial<Record<SecretsFunction, string>>;
  const named = Object.keys(accounts).length > 0;
  const missing = deployed.filter((fn) => accounts[fn] === undefined).map((fn) => IDENTITY_CONTEXT.gcp[fn]);
  if ((named || config.service_account_impersonation_url !== undefined) && missing.length > 0) {
    throw new Error(
      `${named ? 'each function needs its own Google service account' : 'gcpExternalAccountFile impersonates one service account for every function, so presign could write what the admin API writes'}: give ${missing.map((key) => `-c ${key}=…`).join(' and ')}${named ? '' : ', or create the configuration without --service-account so each function federates as its own execution role'} (README, "GCP from Lambda")`,
    );
  }
  distinctIdentities('Google service account', IDENTITY_CONTEXT.gcp, accounts, deployed);
  return accounts;
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
function checkExternalAccount(file: string): Partial<Omit<AwsExternalAccountConfig, 'type'>> {
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
  // The runtime checks the same (a fake on loopback only when a test allows it); a deployment never.
  const problem = externalAccountUrlProblem(config, { allowLoopback: false });
  if (problem !== undefined) throw refuse(problem);
  return config;
}
