import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { exchange } from '../../http/http-exchange';
import { AwsIamVaultAuth, type AwsIdentitySource } from './vault-aws-auth';
import type { VaultAuthSettings, VaultCredentialSource, VaultSettings } from './vault-settings';

/** A parsed Vault answer: the status and the JSON body (`{}` when empty or not JSON). */
export interface VaultAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: Vault's bodies vary by endpoint; callers check what they read.
  body: any;
}

/**
 * Vault answered with an error status. The message names the status and the API path, never
 * Vault's own error text (kept on `errors`), which may echo request fields.
 */
export class VaultApiError extends Error {
  override readonly name = 'VaultApiError';
  constructor(
    readonly status: number,
    readonly apiPath: string,
    readonly errors: readonly string[],
  ) {
    super(`Vault answered ${status} for ${apiPath}`);
  }
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
    return { token: await readSource(this.token, this.method), leaseMs: null, renewable: false };
  }
}

/** The auth method of the settings; `awsCredentials` replaces the SDK's chain (tests). */
export function vaultAuthFrom(settings: VaultAuthSettings, awsCredentials?: AwsIdentitySource): VaultAuth {
  switch (settings.method) {
    case 'kubernetes':
      return new KubernetesVaultAuth(settings);
    case 'approle':
      return new AppRoleVaultAuth(settings);
    case 'aws':
      return new AwsIamVaultAuth(settings, awsCredentials);
    case 'token':
      return new StaticTokenVaultAuth(settings.token);
  }
}

export interface VaultClientOptions {
  /** `https://vault.example.org:8200`, without a trailing slash. */
  address: string;
  namespace?: string;
  /** PEM bundle to trust instead of the system roots. */
  caBundlePem?: string;
  auth: VaultAuth;
  /** The most one call may take, login and retries included. @default 2000 */
  budgetMs?: number;
  /** The most one attempt may take, so a hung attempt leaves time for another. @default 1000 */
  attemptTimeoutMs?: number;
  /** Attempts per request on network errors, 5xx and 429, including the first. @default 3 */
  maxAttempts?: number;
  /** Renew a token once this share of its lease has passed. @default 2/3 */
  renewAfter?: number;
  /** Milliseconds clock for token lifetimes; injectable for tests. @default Date.now */
  clock?: () => number;
}

interface Session {
  token: string;
  obtainedAt: number;
  leaseMs: number | null;
  renewable: boolean;
  /** The lease of the login that started it: a renewal capped far below it means log in again. */
  loginLeaseMs: number | null;
}

/**
 * Vault's HTTP API over `exchange()`: no Vault SDK (the JavaScript ones are either unmaintained
 * or heavy, and the broker needs four endpoints). Owns the token: logs in on first use, renews
 * it once two thirds of its lease have passed (logs in again when renewal is refused or capped
 * by the token's max TTL), and on a 403 forgets it, logs in again and retries once, so a revoked
 * token heals on the next request. Every call fits its budget and the caller's deadline, login
 * included.
 */
export class VaultClient {
  /** Logins and renewals made, for metrics and tests. */
  readonly counters = { logins: 0, renewals: 0 };
  private session: Session | undefined;
  private refreshing: Promise<Session> | undefined;
  private readonly budgetMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly renewAfter: number;
  private readonly clock: () => number;

  constructor(private readonly options: VaultClientOptions) {
    this.budgetMs = options.budgetMs ?? 2000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.renewAfter = options.renewAfter ?? 2 / 3;
    this.clock = options.clock ?? Date.now;
  }

  /** A client from the deployment's settings (reads the CA file once, here). */
  static fromSettings(
    settings: VaultSettings,
    options: Pick<VaultClientOptions, 'budgetMs' | 'clock'> & { awsCredentials?: AwsIdentitySource } = {},
  ): VaultClient {
    const { awsCredentials, ...clientOptions } = options;
    return new VaultClient({
      address: settings.address,
      ...(settings.namespace === undefined ? {} : { namespace: settings.namespace }),
      ...(settings.caCertFile === undefined
        ? {}
        : { caBundlePem: readFileSync(settings.caCertFile, 'utf8') }),
      auth: vaultAuthFrom(settings.auth, awsCredentials),
      ...clientOptions,
    });
  }

  /**
   * Sends `method` to `/v1/<apiPath>` with the broker's token. Resolves with 2xx and 404 answers
   * (a KV read's 404 carries the version's metadata); throws `VaultApiError` for other statuses,
   * `VaultLoginError` when no token can be had, or the exchange's error once time runs out.
   */
  async request(
    method: string,
    apiPath: string,
    options: { body?: unknown; deadline?: number } = {},
  ): Promise<VaultAnswer> {
    const until = Math.min(Date.now() + this.budgetMs, options.deadline ?? Number.POSITIVE_INFINITY);
    for (let retriedWithNewToken = false; ; retriedWithNewToken = true) {
      const session = await this.currentSession(until);
      const answer = await this.send(method, apiPath, options.body, session.token, until);
      if (answer.status === 403 && !retriedWithNewToken) {
        // Revoked, expired early, or replaced: log in again and try once more.
        if (this.session === session) this.session = undefined;
        continue;
      }
      if ((answer.status >= 200 && answer.status < 300) || answer.status === 404) return answer;
      throw new VaultApiError(answer.status, apiPath, errorsOf(answer));
    }
  }

  private async currentSession(until: number): Promise<Session> {
    const session = this.session;
    if (session !== undefined && (session.leaseMs === null || this.clock() < this.renewAt(session))) {
      return session;
    }
    this.refreshing ??= this.refresh(session, until).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private renewAt(session: Session): number {
    return session.obtainedAt + (session.leaseMs ?? 0) * this.renewAfter;
  }

  /** Renews `old` when it can, else logs in; an old token still within its lease beats an outage. */
  private async refresh(old: Session | undefined, until: number): Promise<Session> {
    try {
      if (old?.renewable && old.leaseMs !== null && this.clock() < old.obtainedAt + old.leaseMs) {
        const renewed = await this.renew(old, until);
        if (renewed !== undefined) {
          this.session = renewed;
          return renewed;
        }
      }
      this.counters.logins++;
      const login = await this.options.auth.login((path, body) =>
        this.send('POST', path, body, undefined, until),
      );
      this.session = {
        ...login,
        obtainedAt: this.clock(),
        loginLeaseMs: login.leaseMs,
      };
      return this.session;
    } catch (error) {
      if (old !== undefined && old.leaseMs !== null && this.clock() < old.obtainedAt + old.leaseMs)
        return old;
      throw error;
    }
  }

  /** `auth/token/renew-self`; undefined when Vault refuses, or the renewal is capped near its end. */
  private async renew(old: Session, until: number): Promise<Session | undefined> {
    this.counters.renewals++;
    const answer = await this.send('POST', 'auth/token/renew-self', {}, old.token, until);
    const lease = Number(answer.body?.auth?.lease_duration);
    if (answer.status !== 200 || !(lease > 0)) return undefined;
    const leaseMs = lease * 1000;
    if (old.loginLeaseMs !== null && leaseMs < old.loginLeaseMs / 3) return undefined;
    return { ...old, obtainedAt: this.clock(), leaseMs, renewable: answer.body.auth.renewable === true };
  }

  /** One request, retried on network errors, 5xx and 429 while the budget lasts. */
  private async send(
    method: string,
    apiPath: string,
    body: unknown,
    token: string | undefined,
    until: number,
  ): Promise<VaultAnswer> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = { 'x-vault-request': 'true' };
    if (token !== undefined) headers['x-vault-token'] = token;
    if (this.options.namespace !== undefined) headers['x-vault-namespace'] = this.options.namespace;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(text));
    }
    const url = `${this.options.address}/v1/${apiPath}`;
    for (let attempt = 1; ; attempt++) {
      let answer: VaultAnswer | undefined;
      let failure: unknown;
      try {
        const raw = await exchange(url, {
          method,
          headers,
          body: text,
          timeoutMs: Math.min(this.attemptTimeoutMs, until - Date.now()),
          ...(this.options.caBundlePem === undefined ? {} : { ca: this.options.caBundlePem }),
        });
        answer = { status: raw.status, body: parseBody(raw.body) };
        if (answer.status < 500 && answer.status !== 429) return answer;
      } catch (error) {
        failure = error;
      }
      const pause = Math.random() * 50 * 2 ** attempt;
      if (attempt >= this.maxAttempts || Date.now() + pause >= until) {
        if (answer !== undefined) return answer;
        throw failure;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

function parseBody(text: string): unknown {
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function errorsOf(answer: VaultAnswer): string[] {
  const errors = answer.body?.errors;
  return Array.isArray(errors) ? errors.map(String) : [];
}
