import * as z from 'zod/mini';
import { ConfigurationError } from '../../errors';
import { secureEndpointUrl } from '../../http/secure-endpoint';

/** How the broker can log in to Vault. */
export const VAULT_AUTH_METHODS = ['kubernetes', 'approle', 'aws', 'token'] as const;
export type VaultAuthMethodName = (typeof VAULT_AUTH_METHODS)[number];

const nonEmpty = () => z.string().check(z.minLength(1));

/** The Vault backend's variables (part of every function's secrets environment). */
export const VAULT_ENVIRONMENT = {
  VAULT_ADDR: z
    .optional(secureEndpointUrl())
    .check(
      z.describe(
        "Vault (or OpenBao) address, `https://vault.example.org:8200`; required for the `vault` backend. Plain http only to a loopback address (a Vault agent beside the broker): the token and the login's signed AWS request travel to it.",
      ),
    ),
  VAULT_NAMESPACE: z
    .optional(nonEmpty())
    .check(z.describe('Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`.')),
  VAULT_CACERT: z
    .optional(nonEmpty())
    .check(z.describe("PEM file of the CA(s) that sign Vault's certificate, instead of the system roots.")),
  VAULT_AUTH_METHOD: z
    .optional(z.enum(VAULT_AUTH_METHODS))
    .check(z.describe('How the broker logs in to Vault; required for the `vault` backend.')),
  VAULT_AUTH_MOUNT: z.optional(nonEmpty()).check(
    z.meta({
      description: 'Where the auth method is mounted.',
      unset: "the method's name (`kubernetes`, `approle`, `aws`)",
    }),
  ),
  VAULT_ROLE: z
    .optional(nonEmpty())
    .check(z.describe('Kubernetes and AWS auth: the Vault role to log in as.')),
  VAULT_K8S_TOKEN_FILE: z.optional(nonEmpty()).check(
    z.meta({
      description: 'Kubernetes auth: the projected service-account token.',
      unset: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    }),
  ),
  VAULT_AWS_IAM_SERVER_ID: z
    .optional(nonEmpty())
    .check(
      z.describe(
        "AWS auth (required with it): the value Vault's `iam_server_id_header_value` requires, sent signed as `X-Vault-AWS-IAM-Server-ID` so a request signed for this Vault cannot be replayed to another.",
      ),
    ),
  VAULT_AWS_STS_REGION: z
    .optional(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region, e.g. eu-west-1')))
    .check(
      z.meta({
        description:
          'AWS auth: the region of the STS endpoint Vault forwards the signed request to (its `sts_endpoint` and `sts_region`).',
        unset: 'none: the global endpoint, signed for us-east-1',
      }),
    ),
  VAULT_AWS_STS_ENDPOINT: z.optional(secureEndpointUrl()).check(
    z.meta({
      description:
        "AWS auth: the STS URL the request is signed for, when it is not AWS's own for the region (a VPC endpoint's name, an emulator).",
      unset: 'https://sts.amazonaws.com, or https://sts.<region>.amazonaws.com',
    }),
  ),
  VAULT_ROLE_ID: z.optional(nonEmpty()).check(z.describe('AppRole auth: the role id, or a file holding it.')),
  VAULT_ROLE_ID_FILE: z
    .optional(nonEmpty())
    .check(
      z.describe(
        'AppRole auth: a file holding the role id, read at each login (instead of `VAULT_ROLE_ID`).',
      ),
    ),
  VAULT_SECRET_ID: z
    .optional(nonEmpty())
    .check(z.describe('AppRole auth: the secret id, or a file holding it (prefer the file).')),
  VAULT_SECRET_ID_FILE: z
    .optional(nonEmpty())
    .check(
      z.describe(
        'AppRole auth: a file holding the secret id, read at each login (instead of `VAULT_SECRET_ID`).',
      ),
    ),
  VAULT_TOKEN: z
    .optional(nonEmpty())
    .check(
      z.describe(
        'Token auth (development): the token, or a file holding it (re-read when Vault refuses it).',
      ),
    ),
  VAULT_TOKEN_FILE: z
    .optional(nonEmpty())
    .check(
      z.describe(
        'Token auth: a file holding the token, read again when Vault refuses the old one (instead of `VAULT_TOKEN`).',
      ),
    ),
  VAULT_KV_MOUNT: z
    .optional(nonEmpty())
    .check(z.meta({ description: 'KV v2 mount where admin flows create secrets.', unset: 'secret' })),
};
export type VaultEnvironment = z.output<z.ZodMiniObject<typeof VAULT_ENVIRONMENT>>;

/** The default projected service-account token of a Kubernetes pod. */
export const KUBERNETES_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** A value given directly or as a file to read (at each login, so a rotated file is picked up). */
export type VaultCredentialSource = { value: string } | { file: string };

export type VaultAuthSettings =
  | { method: 'kubernetes'; mount: string; role: string; tokenFile: string }
  | { method: 'approle'; mount: string; roleId: VaultCredentialSource; secretId: VaultCredentialSource }
  | {
      method: 'aws';
      mount: string;
      role: string;
      /** Sent signed as `X-Vault-AWS-IAM-Server-ID`. */
      serverId: string;
      /** The STS URL the GetCallerIdentity request is signed for (Vault sends it to its own `sts_endpoint`). */
      stsUrl: string;
      /** The region the request is signed for. */
      stsRegion: string;
    }
  | { method: 'token'; token: VaultCredentialSource };

/** Everything the Vault backend needs, checked at cold start. */
export interface VaultSettings {
  address: string;
  namespace?: string;
  /** Path of a PEM bundle to trust instead of the system roots. */
  caCertFile?: string;
  auth: VaultAuthSettings;
  /** KV v2 mount where admin flows create secrets. */
  kvMount: string;
}

/**
 * Reads the Vault settings of `environment`, or throws a `ConfigurationError` naming what is
 * missing. Kept apart from the client so a deployment checks its settings at cold start while
 * the client's code loads only when a record first names Vault.
 */
export function readVaultSettings(environment: VaultEnvironment): VaultSettings {
  const missing = (variable: string, why: string) =>
    new ConfigurationError(`FENCE_SECRETS_BACKEND names vault, which needs ${variable} (${why})`);
  if (environment.VAULT_ADDR === undefined) throw missing('VAULT_ADDR', 'the Vault address');
  if (environment.VAULT_AUTH_METHOD === undefined) {
    throw missing('VAULT_AUTH_METHOD', 'kubernetes, approle, aws or token');
  }
  return {
    address: environment.VAULT_ADDR.replace(/\/+$/, ''),
    ...(environment.VAULT_NAMESPACE === undefined ? {} : { namespace: environment.VAULT_NAMESPACE }),
    ...(environment.VAULT_CACERT === undefined ? {} : { caCertFile: environment.VAULT_CACERT }),
    auth: authSettings(environment.VAULT_AUTH_METHOD, environment, missing),
    kvMount: environment.VAULT_KV_MOUNT ?? 'secret',
  };
}

function authSettings(
  method: VaultAuthMethodName,
  environment: VaultEnvironment,
  missing: (variable: string, why: string) => Error,
): VaultAuthSettings {
  const source = (value: string | undefined, file: string | undefined, name: string) => {
    if (value !== undefined && file !== undefined) {
      throw new ConfigurationError(`give either ${name} or ${name}_FILE, not both`);
    }
    if (file !== undefined) return { file };
    if (value !== undefined) return { value };
    throw missing(`${name} or ${name}_FILE`, `for VAULT_AUTH_METHOD=${method}`);
  };
  switch (method) {
    case 'kubernetes':
      if (environment.VAULT_ROLE === undefined) throw missing('VAULT_ROLE', 'the Vault role to log in as');
      return {
        method,
        mount: environment.VAULT_AUTH_MOUNT ?? 'kubernetes',
        role: environment.VAULT_ROLE,
        tokenFile: environment.VAULT_K8S_TOKEN_FILE ?? KUBERNETES_TOKEN_FILE,
      };
    case 'approle':
      return {
        method,
        mount: environment.VAULT_AUTH_MOUNT ?? 'approle',
        roleId: source(environment.VAULT_ROLE_ID, environment.VAULT_ROLE_ID_FILE, 'VAULT_ROLE_ID'),
        secretId: source(environment.VAULT_SECRET_ID, environment.VAULT_SECRET_ID_FILE, 'VAULT_SECRET_ID'),
      };
    case 'aws':
      if (environment.VAULT_ROLE === undefined) throw missing('VAULT_ROLE', 'the Vault role to log in as');
      // Without a server id, the signed GetCallerIdentity request the broker hands to Vault logs
      // in to any Vault that trusts the role: whoever receives one can replay it elsewhere.
      if (environment.VAULT_AWS_IAM_SERVER_ID === undefined) {
        throw missing(
          'VAULT_AWS_IAM_SERVER_ID',
          "with VAULT_AUTH_METHOD=aws: the auth method's iam_server_id_header_value, which ties the signed login to this Vault",
        );
      }
      return {
        method,
        mount: environment.VAULT_AUTH_MOUNT ?? 'aws',
        role: environment.VAULT_ROLE,
        serverId: environment.VAULT_AWS_IAM_SERVER_ID,
        ...stsTarget(environment.VAULT_AWS_STS_REGION, environment.VAULT_AWS_STS_ENDPOINT),
      };
    case 'token':
      return { method, token: source(environment.VAULT_TOKEN, environment.VAULT_TOKEN_FILE, 'VAULT_TOKEN') };
  }
}

/**
 * Where the login's GetCallerIdentity request is signed for. Vault does not send it to the URL
 * the broker names: it sends it to its own `sts_endpoint` (default `https://sts.amazonaws.com`,
 * the global endpoint, signed for us-east-1) with the broker's Host header, so the broker must
 * sign for the endpoint and region Vault is configured with.
 */
function stsTarget(
  region: string | undefined,
  endpoint: string | undefined,
): { stsUrl: string; stsRegion: string } {
  if (endpoint !== undefined) {
    const named = /^sts\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$/.exec(
      new URL(endpoint).hostname,
    );
    return { stsUrl: endpoint.replace(/\/+$/, ''), stsRegion: region ?? named?.[1] ?? 'us-east-1' };
  }
  if (region === undefined) return { stsUrl: 'https://sts.amazonaws.com', stsRegion: 'us-east-1' };
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return { stsUrl: `https://sts.${region}.${suffix}`, stsRegion: region };
}
