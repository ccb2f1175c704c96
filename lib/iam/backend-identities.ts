import { ADMIN_SECRETS_PATH } from './iam-matrix';

/**
 * Each function's identity on the secrets backends outside AWS, in one place beside the IAM
 * matrix: the Vault policy of its own Vault role and the Secret Manager permissions of its own
 * Google service account. Pure data. The README shows the policies and grants rendered from it
 * (`test/infra/iam/backend-identities.test.ts` holds them equal), and the tests enforce them on
 * OpenBao (`readme-vault-aws.test.ts`) and on the GCP fake (`per-function-identity.test.ts`).
 * Presign and the drift check only read; the admin API writes under the prefix, never under
 * `admin/`, where the MinIO admin credentials live.
 */

/** The functions that resolve secrets, each with its own identity on Vault and Google. */
export const SECRETS_FUNCTIONS = ['presign', 'admin', 'drift'] as const;
export type SecretsFunction = (typeof SECRETS_FUNCTIONS)[number];

/** Vault's capabilities (`deny` wins over everything on its path). */
export type VaultCapability = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list' | 'deny';

/** One path rule of a Vault policy; `{prefix}` is the secrets prefix, inside the KV v2 mount. */
export interface VaultPathRule {
  readonly path: string;
  readonly capabilities: readonly VaultCapability[];
}

/** Capabilities that change a secret: never in a read-only function's policy. */
export const VAULT_WRITE_CAPABILITIES: readonly VaultCapability[] = ['create', 'update', 'patch', 'delete'];

const ADMIN = `{prefix}${ADMIN_SECRETS_PATH}*`;

/** Each function's Vault policy: its name, and its rules over the KV v2 mount. */
export const VAULT_POLICIES: Readonly<
  Record<SecretsFunction, { readonly name: string; readonly rules: readonly VaultPathRule[] }>
> = {
  presign: {
    name: 'fence-broker-read',
    rules: [
      { path: 'data/{prefix}*', capabilities: ['read'] },
      { path: `data/${ADMIN}`, capabilities: ['deny'] },
    ],
  },
  admin: {
    name: 'fence-broker-admin',
    rules: [
      { path: 'data/{prefix}*', capabilities: ['create', 'read', 'update'] },
      { path: 'metadata/{prefix}*', capabilities: ['read', 'update'] },
      { path: 'delete/{prefix}*', capabilities: ['update'] },
      // One rule per path kind: within a policy Vault applies the most specific path only.
      { path: `data/${ADMIN}`, capabilities: ['deny'] },
      { path: `metadata/${ADMIN}`, capabilities: ['deny'] },
      { path: `delete/${ADMIN}`, capabilities: ['deny'] },
    ],
  },
  drift: {
    name: 'fence-broker-drift',
    rules: [
      { path: 'data/{prefix}*', capabilities: ['read'] },
      { path: 'metadata/{prefix}*', capabilities: ['read'] },
      { path: `data/${ADMIN}`, capabilities: ['deny'] },
      { path: `metadata/${ADMIN}`, capabilities: ['deny'] },
    ],
  },
};

/** A function's Vault policy as HCL, for `mount` and `prefix` (`bao policy write <name> <file>`). */
export function vaultPolicyHcl(fn: SecretsFunction, mount = 'secret', prefix = 'gen3/fence/'): string {
  return `${VAULT_POLICIES[fn].rules
    .map(
      (rule) =>
        `path "${mount}/${rule.path.replaceAll('{prefix}', prefix)}" {\n  capabilities = [${rule.capabilities.map((capability) => `"${capability}"`).join(', ')}]\n}`,
    )
    .join('\n\n')}\n`;
}

/** Secret Manager permissions, on the secrets under the prefix only (an IAM condition on the id). */
export type SecretManagerPermission =
  | 'secretmanager.secrets.create'
  | 'secretmanager.secrets.get'
  | 'secretmanager.secrets.update'
  | 'secretmanager.versions.add'
  | 'secretmanager.versions.list'
  | 'secretmanager.versions.access'
  | 'secretmanager.versions.disable';

/** Permissions that change a secret: never a read-only function's. */
export const SECRET_MANAGER_WRITE_PERMISSIONS: readonly SecretManagerPermission[] = [
  'secretmanager.secrets.create',
  'secretmanager.secrets.update',
  'secretmanager.versions.add',
  'secretmanager.versions.disable',
];

/** Each function's Google service account: its Secret Manager permissions under the prefix. */
export const GOOGLE_SECRET_MANAGER_PERMISSIONS: Readonly<
  Record<SecretsFunction, readonly SecretManagerPermission[]>
> = {
  presign: ['secretmanager.versions.access'],
  admin: [
    'secretmanager.secrets.create',
    'secretmanager.secrets.get',
    'secretmanager.secrets.update',
    'secretmanager.versions.add',
    'secretmanager.versions.list',
    'secretmanager.versions.access',
    'secretmanager.versions.disable',
  ],
  // The drift check describes secrets (their versions) and reads them.
  drift: ['secretmanager.secrets.get', 'secretmanager.versions.list', 'secretmanager.versions.access'],
};
