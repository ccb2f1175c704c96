import type { AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import {
  BrokerError,
  CredentialsRejectedError,
  SecretBackendUnavailableError,
  ThrottledError,
} from '../errors';
import type { SigningCredentials } from '../signing/sigv4-presigner';

/** Credentials from AssumeRole, with the instant they stop working. */
export interface ExpiringCredentials {
  credentials: SigningCredentials;
  expiresAt: number;
}

export interface AssumeRoleRequest {
  roleArn: string;
  externalId: string | null;
  /** Inline session policy (JSON) scoping the credentials further; part of the cache key. */
  sessionPolicy?: string;
  /** The caller needs the credentials to stay valid this long (the URL's lifetime). */
  minRemainingMs: number;
  /** Carried into the session name, so CloudTrail ties the session to the request. */
  requestId: string;
  /** Epoch milliseconds by which AssumeRole must have answered (the request's deadline). */
  deadline?: number;
}

export interface AssumedRoleCredentialsOptions {
  /** Requested session length. @default 3600 (the default maximum of an IAM role) */
  durationSeconds?: number;
  /** Refresh this long before the remaining life would drop below what a caller needs. @default 60_000 */
  marginMs?: number;
  /** @default Date.now */
  clock?: () => number;
  /**
   * The most one AssumeRole may take, retries included; the default client also bounds each
   * attempt. @default 2000
   */
  budgetMs?: number;
  /** Builds the STS client on first use, so static-mode containers never load STS. @default `createStsClient` */
  stsClient?: () => Promise<STSClient>;
}

/**
 * An STS client whose calls fit a budget: two attempts at most, each bounded in connecting and
 * in waiting for the answer (the SDK's defaults wait for as long as the socket stays open).
 */
export async function createStsClient(
  budgetMs: number,
  config: ConstructorParameters<typeof STSClient>[0] = {},
): Promise<STSClient> {
  const { STSClient } = await import('@aws-sdk/client-sts');
  return new STSClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: Math.ceil(budgetMs / 4), requestTimeout: Math.ceil(budgetMs / 2) },
    ...config,
  });
}

/**
 * Role mode: STS AssumeRole, cached per (role, external id, session policy) and refreshed before
 * the remaining lifetime drops below the lifetime of the URL being signed, so a URL never
 * outlives the credentials that signed it.
 */
export class AssumedRoleCredentials {
  private readonly cache = new Map<string, ExpiringCredentials>();
  private readonly inFlight = new Map<string, Promise<ExpiringCredentials>>();
  private readonly durationSeconds: number;
  private readonly marginMs: number;
  private readonly budgetMs: number;
  private readonly clock: () => number;
  private readonly stsClient: () => Promise<STSClient>;
  private client: Promise<STSClient> | undefined;
  /** AssumeRole calls made, for metrics and tests. */
  calls = 0;

  constructor(options: AssumedRoleCredentialsOptions = {}) {
    this.durationSeconds = options.durationSeconds ?? 3600;
    this.marginMs = options.marginMs ?? 60_000;
    this.clock = options.clock ?? Date.now;
    this.budgetMs = options.budgetMs ?? 2000;
    this.stsClient = options.stsClient ?? (() => createStsClient(this.budgetMs));
  }

  /** The longest a URL signed now can live: a fresh session's length less the margin. */
  get maxLifetimeMs(): number {
    return this.durationSeconds * 1000 - this.marginMs;
  }

  async get(request: AssumeRoleRequest): Promise<ExpiringCredentials> {
    const key = JSON.stringify([request.roleArn, request.externalId, request.sessionPolicy ?? null]);
    const cached = this.cache.get(key);
    const needed = Math.min(request.minRemainingMs, this.maxLifetimeMs) + this.marginMs;
    if (cached !== undefined && cached.expiresAt - this.clock() >= needed) return cached;
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const load = this.assume(request)
      .then((fresh) => {
        this.cache.set(key, fresh);
        return fresh;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, load);
    return load;
  }

  private async assume(request: AssumeRoleRequest): Promise<ExpiringCredentials> {
    this.client ??= this.stsClient();
    const client = await this.client;
    const { AssumeRoleCommand } = await import('@aws-sdk/client-sts');
    this.calls++;
    const timeLeft = Math.min(this.budgetMs, (request.deadline ?? Number.POSITIVE_INFINITY) - Date.now());
    let answer: AssumeRoleCommandOutput;
    try {
      if (timeLeft <= 0) throw new SecretBackendUnavailableError(noAnswer(request.roleArn));
      answer = await client.send(
        new AssumeRoleCommand({
          RoleArn: request.roleArn,
          ExternalId: request.externalId ?? undefined,
          Policy: request.sessionPolicy,
          DurationSeconds: this.durationSeconds,
          RoleSessionName: sessionName(request.requestId),
        }),
        // Bounds the whole call, retries included, whatever the client's own settings.
        { abortSignal: AbortSignal.timeout(timeLeft) },
      );
    } catch (error) {
      throw translate(error, request.roleArn);
    }
    const issued = answer.Credentials;
    if (!issued?.AccessKeyId || !issued.SecretAccessKey || !issued.SessionToken || !issued.Expiration) {
      throw new CredentialsRejectedError(`STS returned incomplete credentials for ${request.roleArn}`);
    }
    return {
      credentials: {
        accessKeyId: issued.AccessKeyId,
        secretAccessKey: issued.SecretAccessKey,
        sessionToken: issued.SessionToken,
      },
      expiresAt: issued.Expiration.getTime(),
    };
  }
}

/** `fence-broker-<request id>`, cut to STS's 64 characters of [\w+=,.@-]. */
export function sessionName(requestId: string): string {
  return `fence-broker-${requestId.replace(/[^\w+=,.@-]/g, '-')}`.slice(0, 64);
}

const noAnswer = (roleArn: string) => `STS did not answer AssumeRole for ${roleArn} in time`;

function translate(error: unknown, roleArn: string): Error {
  if (error instanceof BrokerError) return error;
  const name = error instanceof Error ? error.name : '';
  // No answer from STS (time-out, abort, connection failure) or an STS outage: retry later.
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (status === undefined || status >= 500) {
    return new SecretBackendUnavailableError(
      name === 'AbortError' || name === 'TimeoutError'
        ? noAnswer(roleArn)
        : `STS could not be reached for ${roleArn}`,
      { cause: error },
    );
  }
  if (name === 'Throttling' || name === 'ThrottlingException') {
    return new ThrottledError(`STS throttled AssumeRole for ${roleArn}`, {
      cause: error,
      retryAfterSeconds: 1,
    });
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'MalformedPolicyDocument') {
    return new CredentialsRejectedError(`STS refused to assume ${roleArn}`, { cause: error });
  }
  return new CredentialsRejectedError(`AssumeRole failed for ${roleArn}`, { cause: error });
}
