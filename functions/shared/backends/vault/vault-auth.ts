import { readFile } from 'node:fs/promises';
import type { VaultAuthSettings, VaultCredentialSource } from './vault-settings';

/*
 * The auth methods' contract (a login through an unauthenticated `post`), and the methods that
 * need nothing but a file or a value. The AWS method, which signs with the broker's AWS
 * credentials, is in vault-aws-auth.ts; the client picks one in `vaultAuthFrom`.
 */

/** A parsed Vault answer: the status and the JSON body (`{}` when empty or not JSON). */
export interface VaultAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: Vault's bodies vary by endpoint; callers check what they read.
  body: any;
}

/** Vault refused the broker's login (a wrong role, a revoked secret id, a rejected JWT). */
export class VaultLoginError extends Error {
  override readonly name = 'VaultLoginError';
  constructor(
    readonly method: string,
    readonly status: number | undefined,
    options: { cause?: unknown; file?: string; problem?: string } = {},
  ) {
    super(
      options.file !== undefined
        ? `the broker's ${method} login to Vault could not read ${options.file}`
        : options.problem !== undefined
          ? `the broker's ${method} login to Vault ${options.problem}`
          : `Vault refused the broker's ${method} login${status === undefined ? '' : ` (${status})`}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/** What a login gives: a token, its lease (null: no known expiry) and whether it can be renewed. */
export interface VaultLogin {
  token: string;
  leaseMs: number | null;
  renewable: boolean;
  /**
   * Whether the token is the broker's own, made by this login, so the client revokes it when it
   * replaces it. A token given outright (`VAULT_TOKEN`) is the operator's and is never revoked.
   */
  revocable: boolean;
}

/** An auth method: logs in through `post`, an unauthenticated request to Vault. */
export interface VaultAuth {
  readonly method: string;
  login(post: (path: string, body: unknown) => Promise<VaultAnswer>): Promise<VaultLogin>;
}

/** A credential's text; an unreadable file is a failed login, named by method and file (never its content). */
async function readSource(source: VaultCredentialSource, method: string): Promise<string> {
  if ('value' in source) return source.value;
  try {
    return (await readFile(source.file, 'utf8')).trim();
  } catch (error) {
    throw new VaultLoginError(method, undefined, { cause: error, file: source.file });
  }
}

/** The token of a login answer, or a `VaultLoginError` naming the method and status only. */
export function loginFrom(method: string, answer: VaultAnswer): VaultLogin {
  const auth = answer.body?.auth;
  if (answer.status !== 200 || typeof auth?.client_token !== 'string') {
    throw new VaultLoginError(method, answer.status);
  }
  const lease = Number(auth.lease_duration);
  return {
    token: auth.client_token,
    leaseMs: lease > 0 ? lease * 1000 : null,
    renewable: auth.renewable === true,
    revocable: true,
  };
}

/** Kubernetes auth: the pod's projected service-account token, read afresh at each login (it rotates). */
export class KubernetesVaultAuth implements VaultAuth {
  readonly method = 'kubernetes';
  constructor(private readonly settings: Extract<VaultAuthSettings, { method: 'kubernetes' }>) {}
  async login(post: (path: string, body: unknown) => Promise<VaultAnswer>): Promise<VaultLogin> {
    const jwt = await readSource({ file: this.settings.tokenFile }, this.method);
    return loginFrom(
      this.method,
      await post(`auth/${this.settings.mount}/login`, { role: this.settings.role, jwt }),
    );
  }
}

/** AppRole auth: role id and secret id, each from the environment or a file read at each login. */
export class AppRoleVaultAuth implements VaultAuth {
  readonly method = 'approle';
  constructor(private readonly settings: Extract<VaultAuthSettings, { method: 'approle' }>) {}
  async login(post: (path: string, body: unknown) => Promise<VaultAnswer>): Promise<VaultLogin> {
    const [roleId, secretId] = await Promise.all([
      readSource(this.settings.roleId, this.method),
      readSource(this.settings.secretId, this.method),
    ]);
    return loginFrom(
      this.method,
      await post(`auth/${this.settings.mount}/login`, { role_id: roleId, secret_id: secretId }),
    );
  }
}

/**
 * A token given outright (development). "Logging in" reads it again, so a token file that an
 * agent rewrites is picked up when Vault refuses the old token.
 */
export class StaticTokenVaultAuth implements VaultAuth {
  readonly method = 'token';
  constructor(private readonly token: VaultCredentialSource) {}
  async login(): Promise<VaultLogin> {
    return {
      token: await readSource(this.token, this.method),
      leaseMs: null,
      renewable: false,
      revocable: false,
    };
  }
}
