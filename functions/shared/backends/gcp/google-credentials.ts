import { createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type AwsCredentials, credentialsFromEnvironment } from '../../aws/aws-json-client';
import { ConfigurationError } from '../../errors';
import { isSecureTransport } from '../../http/secure-endpoint';
import { SigV4Presigner } from '../../signing/sigv4-presigner';
import { externalAccountUrlProblem, impersonationUrl } from './external-account';
import { callGoogle } from './google-http';

/** The scope every broker call to Google needs (Secret Manager, IAM Credentials). */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** An OAuth access token and the instant it stops working. */
export interface GoogleAccessToken {
  token: string;
  expiresAt: number;
}

/** Where access tokens come from: one exchange per call, cached by `GoogleAccessTokens`. */
export interface GoogleTokenExchange {
  /** What it is, for messages: `service account x@p.iam`, `workload identity federation (AWS)`. */
  readonly description: string;
  fetch(until: number): Promise<GoogleAccessToken>;
}

/** The parts of a service-account key file the broker uses. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

/** An external-account (workload identity federation) configuration for AWS, as `gcloud` writes it. */
export interface AwsExternalAccountConfig {
  type: 'external_account';
  audience: string;
  subject_token_type: string;
  token_url: string;
  service_account_impersonation_url?: string;
  credential_source: { environment_id: string; regional_cred_verification_url: string };
}

/** A credentials file: a service-account key or an AWS external-account configuration. */
export type GoogleCredentialsFile =
  | ({ type: 'service_account' } & ServiceAccountKey)
  | AwsExternalAccountConfig;

/**
 * A service-account key: a self-signed JWT (RS256) exchanged at the key's token URI for an
 * access token (OAuth 2.0 JWT bearer grant). For development: the key is a secret, held in
 * another backend.
 */
export class ServiceAccountKeyExchange implements GoogleTokenExchange {
  readonly description: string;
  constructor(private readonly key: ServiceAccountKey) {
    this.description = `service account ${key.client_email}`;
  }

  async fetch(until: number): Promise<GoogleAccessToken> {
    const tokenUri = this.key.token_uri ?? 'https://oauth2.googleapis.com/token';
    // The signed assertion is a credential for an hour: it never crosses a network in the clear.
    if (!URL.canParse(tokenUri) || !isSecureTransport(new URL(tokenUri))) {
      throw new ConfigurationError(
        `the service-account key of ${this.key.client_email} names a token_uri that is not https (plain http only to a loopback address)`,
      );
    }
    const issued = Math.floor(Date.now() / 1000);
    const assertion = signJwt(
      { alg: 'RS256', typ: 'JWT', ...(this.key.private_key_id ? { kid: this.key.private_key_id } : {}) },
      {
        iss: this.key.client_email,
        scope: CLOUD_PLATFORM_SCOPE,
        aud: tokenUri,
        iat: issued,
        exp: issued + 3600,
      },
      this.key.private_key,
    );
    const answer = await callGoogle({
      method: 'POST',
      url: tokenUri,
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      until,
    });
    return oauthToken(answer);
  }
}

/**
 * Workload identity federation from AWS: the broker's own AWS credentials (the Lambda's role)
 * sign a GetCallerIdentity request, which Google's STS checks with AWS and exchanges for a
 * federated token; with `service_account_impersonation_url`, that token is exchanged again for
 * the service account's. No key file anywhere.
 */
export class AwsWorkloadIdentityExchange implements GoogleTokenExchange {
  readonly description = 'workload identity federation (AWS)';
  private readonly signer = new SigV4Presigner();

  constructor(
    private readonly config: AwsExternalAccountConfig,
    private readonly aws: () => Promise<AwsCredentials> = credentialsFromEnvironment,
    private readonly region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
  ) {}

  async fetch(until: number): Promise<GoogleAccessToken> {
    const federated = oauthToken(
      await callGoogle({
        method: 'POST',
        url: this.config.token_url,
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          audience: this.config.audience,
          scope: CLOUD_PLATFORM_SCOPE,
          requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          subject_token: await this.subjectToken(),
          subject_token_type: this.config.subject_token_type,
        }),
        until,
      }),
    );
    const impersonation = this.config.service_account_impersonation_url;
    if (impersonation === undefined) return federated;
    return impersonatedToken(impersonation, federated.token, until);
  }

  /** The signed GetCallerIdentity request, serialized as Google's STS expects it. */
  async subjectToken(): Promise<string> {
    if (this.region === undefined) {
      throw new Error('workload identity federation from AWS needs AWS_REGION');
    }
    const url = new URL(
      this.config.credential_source.regional_cred_verification_url.replace('{region}', this.region),
    );
    const credentials = await this.aws();
    const headers = this.signer.signHeaders(credentials, {
      method: 'POST',
      host: url.host,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { 'x-goog-cloud-target-resource': this.config.audience },
      region: this.region,
      service: 'sts',
      now: new Date(),
    });
    return encodeURIComponent(
      JSON.stringify({
        url: url.toString(),
        method: 'POST',
        headers: Object.entries(headers).map(([key, value]) => ({ key, value })),
      }),
    );
  }
}

/** IAM Credentials `generateAccessToken`: `bearer` acts as the service account of `url`. */
export async function impersonatedToken(
  url: string,
  bearer: string,
  until: number,
): Promise<GoogleAccessToken> {
  const answer = await callGoogle({
    method: 'POST',
    url,
    bearer,
    body: { scope: [CLOUD_PLATFORM_SCOPE], lifetime: '3600s' },
    until,
  });
  const expiresAt = Date.parse(String(answer?.expireTime));
  if (typeof answer?.accessToken !== 'string' || Number.isNaN(expiresAt)) {
    throw new Error('IAM Credentials answered generateAccessToken without a token');
  }
  return { token: answer.accessToken, expiresAt };
}

/** How a function's Google identity is taken from its credentials file. */
export interface GoogleIdentityOptions {
  /**
   * Tests only (`GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK`): the file's token and impersonation URLs
   * may name a loopback fake instead of Google. @default false
   */
  allowLoopbackEndpoints?: boolean;
  /**
   * The service account this function acts as (`GCP_IMPERSONATE_SERVICE_ACCOUNT`), in place of
   * the file's `service_account_impersonation_url`: one pool configuration, one identity per
   * function. @default the file's own
   */
  serviceAccount?: string;
  /** IAM Credentials' endpoint for that impersonation. @default https://iamcredentials.googleapis.com */
  iamCredentialsEndpoint?: string;
}

/**
 * A token exchange for a credentials file (ADC: `GOOGLE_APPLICATION_CREDENTIALS`). An external
 * account's Google URLs are checked before anything is sent (`externalAccountUrlProblem`).
 */
export function tokenExchangeFor(
  file: GoogleCredentialsFile,
  options: GoogleIdentityOptions = {},
): GoogleTokenExchange {
  if (file.type === 'service_account') return new ServiceAccountKeyExchange(file);
  if (file.type === 'external_account' && file.credential_source?.environment_id?.startsWith('aws')) {
    const problem = externalAccountUrlProblem(file, {
      allowLoopback: options.allowLoopbackEndpoints === true,
    });
    if (problem !== undefined) {
      throw new ConfigurationError(`the external-account configuration's ${problem}`);
    }
    return new AwsWorkloadIdentityExchange(
      options.serviceAccount === undefined
        ? file
        : {
            ...file,
            service_account_impersonation_url: impersonationUrl(
              options.iamCredentialsEndpoint ?? 'https://iamcredentials.googleapis.com',
              options.serviceAccount,
            ),
          },
    );
  }
  throw new Error(
    'Google credentials must be a service-account key or an AWS external-account configuration',
  );
}

/**
 * Access tokens from one exchange, cached until five minutes before they expire (a URL or read
 * in flight never meets an expired token), fetched once for concurrent callers, and forgotten on
 * demand when Google refuses one (401).
 */
export class GoogleAccessTokens {
  /** Exchanges made, for metrics and tests. */
  exchanges = 0;
  private current: GoogleAccessToken | undefined;
  private pending: Promise<GoogleAccessToken> | undefined;

  constructor(
    readonly source: GoogleTokenExchange,
    private readonly marginMs = 300_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async token(until: number): Promise<string> {
    const current = this.current;
    if (current !== undefined && current.expiresAt - this.clock() > this.marginMs) return current.token;
    this.pending ??= (async () => {
      this.exchanges++;
      return this.source.fetch(until);
    })()
      .then((fresh) => {
        this.current = fresh;
        return fresh;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return (await this.pending).token;
  }

  /** Drops `token` if it is the cached one, so the next call exchanges again. */
  forget(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: an OAuth token endpoint's JSON answer.
function oauthToken(answer: any): GoogleAccessToken {
  if (typeof answer?.access_token !== 'string')
    throw new Error('the token endpoint answered without a token');
  const lifetime = Number(answer.expires_in);
  return { token: answer.access_token, expiresAt: Date.now() + (lifetime > 0 ? lifetime : 3600) * 1000 };
}

function signJwt(header: object, claims: object, privateKeyPem: string): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const unsigned = `${encode(header)}.${encode(claims)}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(privateKeyPem).toString('base64url');
  return `${unsigned}.${signature}`;
}

/**
 * The exchange for the credentials file at `path` (ADC, `GOOGLE_APPLICATION_CREDENTIALS`), read
 * at each exchange so a replaced file is picked up.
 */
export function credentialsFileExchange(
  path: string,
  options: GoogleIdentityOptions = {},
): GoogleTokenExchange {
  return {
    description: `credentials file ${path}${options.serviceAccount === undefined ? '' : ` as ${options.serviceAccount}`}`,
    async fetch(until: number): Promise<GoogleAccessToken> {
      const file = JSON.parse(await readFile(path, 'utf8')) as GoogleCredentialsFile;
      return tokenExchangeFor(file, options).fetch(until);
    },
  };
}
