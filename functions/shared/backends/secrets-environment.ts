import * as z from 'zod/mini';
import { SECRETS_BACKENDS } from '../registry/bucket-record';
import { commaList, positiveInteger, seconds } from '../config/environment';

/** How the broker can log in to Vault. */
export const VAULT_AUTH_METHODS = ['kubernetes', 'approle', 'aws', 'token'] as const;
export type VaultAuthMethodName = (typeof VAULT_AUTH_METHODS)[number];

const nonEmpty = () => z.string().check(z.minLength(1));

/**
 * Secrets settings every function that resolves secrets shares (the plan's
 * `FENCE_SECRETS_BACKEND` plus backend parameters). AWS region and endpoint come from the SDK's
 * own variables (`AWS_REGION`, `AWS_ENDPOINT_URL`), so the same code runs against AWS, moto or
 * LocalStack.
 */
export const SecretsEnvironmentSchema = z.object({
  /** Backends this deployment serves, comma-separated; records naming another are refused. */
  FENCE_SECRETS_BACKEND: z._default(commaList(z.enum(SECRETS_BACKENDS)), ['aws_sm' as const]),
  /** Every secret name lives under this prefix; IAM grants nothing outside it. */
  FENCE_SECRETS_PREFIX: z._default(z.string().check(z.minLength(1)), 'gen3/fence/'),
  /** KMS key for secrets the admin flows create. */
  FENCE_SECRETS_KMS_KEY_ID: z.optional(z.string().check(z.minLength(1))),
  /** Directory of mounted secret files, for the `k8s` backend. */
  FENCE_SECRETS_DIR: z.optional(z.string().check(z.minLength(1))),
  /** Vault (or OpenBao) address, `https://vault.example.org:8200`; required for the `vault` backend. */
  VAULT_ADDR: z.optional(z.url({ protocol: /^https?$/ })),
  /** Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`. */
  VAULT_NAMESPACE: z.optional(nonEmpty()),
  /** PEM file of the CA(s) that sign Vault's certificate, instead of the system roots. */
  VAULT_CACERT: z.optional(nonEmpty()),
  /** How the broker logs in to Vault; required for the `vault` backend. */
  VAULT_AUTH_METHOD: z.optional(z.enum(VAULT_AUTH_METHODS)),
  /** Where the auth method is mounted. @default the method's name (`kubernetes`, `approle`, `aws`) */
  VAULT_AUTH_MOUNT: z.optional(nonEmpty()),
  /** Kubernetes and AWS auth: the Vault role to log in as. */
  VAULT_ROLE: z.optional(nonEmpty()),
  /** Kubernetes auth: the projected service-account token. @default /var/run/secrets/kubernetes.io/serviceaccount/token */
  VAULT_K8S_TOKEN_FILE: z.optional(nonEmpty()),
  /**
   * AWS auth: the value Vault's `iam_server_id_header_value` requires, sent signed as
   * `X-Vault-AWS-IAM-Server-ID` so a request signed for this Vault cannot be replayed to another.
   */
  VAULT_AWS_IAM_SERVER_ID: z.optional(nonEmpty()),
  /**
   * AWS auth: the region of the STS endpoint Vault forwards the signed request to (its
   * `sts_endpoint` and `sts_region`). @default none: the global endpoint, signed for us-east-1
   */
  VAULT_AWS_STS_REGION: z.optional(
    z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region, e.g. eu-west-1')),
  ),
  /**
   * AWS auth: the STS URL the request is signed for, when it is not AWS's own for the region
   * (a VPC endpoint's name, an emulator). @default https://sts.amazonaws.com, or https://sts.<region>.amazonaws.com
   */
  VAULT_AWS_STS_ENDPOINT: z.optional(z.url({ protocol: /^https?$/ })),
  /** AppRole auth: the role id, or a file holding it. */
  VAULT_ROLE_ID: z.optional(nonEmpty()),
  VAULT_ROLE_ID_FILE: z.optional(nonEmpty()),
  /** AppRole auth: the secret id, or a file holding it (prefer the file). */
  VAULT_SECRET_ID: z.optional(nonEmpty()),
  VAULT_SECRET_ID_FILE: z.optional(nonEmpty()),
  /** Token auth (development): the token, or a file holding it (re-read when Vault refuses it). */
  VAULT_TOKEN: z.optional(nonEmpty()),
  VAULT_TOKEN_FILE: z.optional(nonEmpty()),
  /** KV v2 mount where admin flows create secrets. @default secret */
  VAULT_KV_MOUNT: z.optional(nonEmpty()),
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
  FENCE_SECRET_CACHE_TTL_SECONDS: seconds(300),
  FENCE_SECRET_CACHE_MAX_STALE_SECONDS: seconds(3600),
  FENCE_SECRET_CACHE_MAX_ENTRIES: z._default(positiveInteger(), 1000),
});
export type SecretsEnvironment = z.output<typeof SecretsEnvironmentSchema>;
