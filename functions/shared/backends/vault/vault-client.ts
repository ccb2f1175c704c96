import { readFileSync } from 'node:fs';
import { exchange } from '../../http/http-exchange';
import {
  AppRoleVaultAuth,
  KubernetesVaultAuth,
  StaticTokenVaultAuth,
  type VaultAnswer,
  type VaultAuth,
} from './vault-auth';
import { AwsIamVaultAuth, type AwsIdentitySource } from './vault-aws-auth';
import type { VaultAuthSettings, VaultSettings } from './vault-settings';

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
  /** The broker's own token (not one given outright): revoked when a login replaces it. */
  revocable: boolean;
  /** The lease of the login that started it: a renewal capped far below it means log in again. */
  loginLeaseMs: number | null;
}

/**
 * Vault's HTTP API over `exchange()`: no Vault SDK (the JavaScript ones are either unmaintained
 * or heavy, and the broker needs a handful of endpoints). Owns the token: logs in on first use,
 * renews it once two thirds of its lease have passed (logs in again when renewal is refused or
 * capped by the token's max TTL). Vault answers 403 both to a token it no longer honours and to
 * a path the token's policy does not grant, so on a 403 the client asks `lookup-self` which it
 * is: a live token keeps serving and the 403 stands (a denied path is no reason to log in), a
 * dead one is forgotten and the request retried once after a new login, so a revoked token heals
 * on the next request. A token the broker logged in for is revoked (`revoke-self`) when a new
 * login replaces it, so no replaced token lives on until its TTL. Every call fits its budget and
 * the caller's deadline, login included.
 */
export class VaultClient {
  /** Logins and renewals made, for metrics and tests. */
  readonly counters = { logins: 0, renewals: 0 };
  private session: Session | undefined;
  /** A session dropped after a 403 its `lookup-self` did not pass: revoked once a login replaces it. */
  private abandoned: Session | undefined;
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
      if (answer.status === 403 && !retriedWithNewToken && !(await this.isLive(session, until))) {
        // Revoked, expired early, or replaced: log in again and try once more.
        if (this.session === session) {
          this.session = undefined;
          this.abandoned = session;
        }
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
      const session = { ...login, obtainedAt: this.clock(), loginLeaseMs: login.leaseMs };
      this.session = session;
      const replaced = [old, this.abandoned];
      this.abandoned = undefined;
      for (const token of new Set(replaced.flatMap((r) => (r?.revocable ? [r.token] : [])))) {
        if (token !== session.token) await this.revoke(token, until);
      }
      return session;
    } catch (error) {
      if (old !== undefined && old.leaseMs !== null && this.clock() < old.obtainedAt + old.leaseMs)
        return old;
      throw error;
    }
  }

  /**
   * Whether Vault still honours the session's token. Vault's default policy lets every token
   * look itself up; a token whose policies leave that out reads as dead, which costs a login
   * (and revokes the old token), never a wrong answer.
   */
  private async isLive(session: Session, until: number): Promise<boolean> {
    const answer = await this.send('GET', 'auth/token/lookup-self', undefined, session.token, until);
    return answer.status === 200;
  }

  /**
   * `auth/token/revoke-self` for a token a new login replaced. Best effort: a token already dead
   * answers 403, and a failure here must not fail the request the new token is serving; a token
   * not revoked still dies at its TTL.
   */
  private async revoke(token: string, until: number): Promise<void> {
    try {
      await this.send('POST', 'auth/token/revoke-self', {}, token, until);
    } catch {
      // Unreachable or out of time: the token expires at its TTL.
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
