import { isLoopbackHostname } from '../../http/loopback';

/**
 * Google's own endpoints for workload identity federation, as `gcloud iam workload-identity-pools
 * create-cred-config` writes them: the STS token exchange and IAM Credentials'
 * `generateAccessToken`. The broker sends its signed AWS GetCallerIdentity request to the first
 * and its federated token to the second, so a configuration naming any other host would hand
 * them to that host.
 */
export const GOOGLE_STS_TOKEN_URL = 'https://sts.googleapis.com/v1/token';
export const GOOGLE_IAM_CREDENTIALS_HOST = 'iamcredentials.googleapis.com';

/** What the broker reads of an external-account configuration's URLs. */
export interface ExternalAccountUrls {
  token_url?: unknown;
  service_account_impersonation_url?: unknown;
}

/**
 * The problem with a configuration's Google URLs, or undefined: `token_url` must be
 * `https://sts.googleapis.com/v1/token` and `service_account_impersonation_url`, when present,
 * `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/<email>:generateAccessToken`.
 * With `allowLoopback` (tests: `GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK`), either may instead be any
 * http(s) URL on a loopback address, where a fake of Google runs.
 */
export function externalAccountUrlProblem(
  config: ExternalAccountUrls,
  options: { allowLoopback: boolean },
): string | undefined {
  const check = (field: string, value: unknown, google: (url: URL) => boolean, form: string) => {
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      return `${field} is not a URL`;
    }
    if (options.allowLoopback && /^https?:$/.test(url.protocol) && isLoopbackHostname(url.hostname)) {
      return undefined;
    }
    const plain = url.port === '' && url.username === '' && url.password === '' && url.search === '';
    return url.protocol === 'https:' && plain && url.hash === '' && google(url)
      ? undefined
      : `${field} must be Google's ${form}`;
  };
  const token = check(
    'token_url',
    config.token_url,
    (url) => url.href === GOOGLE_STS_TOKEN_URL,
    GOOGLE_STS_TOKEN_URL,
  );
  if (token !== undefined || config.service_account_impersonation_url === undefined) return token;
  return check(
    'service_account_impersonation_url',
    config.service_account_impersonation_url,
    (url) =>
      url.hostname === GOOGLE_IAM_CREDENTIALS_HOST &&
      /^\/v1\/projects\/-\/serviceAccounts\/[^/:]+:generateAccessToken$/.test(url.pathname),
    `https://${GOOGLE_IAM_CREDENTIALS_HOST}/v1/projects/-/serviceAccounts/<email>:generateAccessToken`,
  );
}

/** IAM Credentials' `generateAccessToken` URL for `serviceAccount` at `endpoint`. */
export function impersonationUrl(endpoint: string, serviceAccount: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}:generateAccessToken`;
}
