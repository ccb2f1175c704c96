import {
  BrokerError,
  BucketMisconfiguredError,
  SecretBackendUnavailableError,
  SecretNotFoundError,
  SecretShapeError,
  ThrottledError,
} from '../../errors';
import { ExchangeTimeoutError } from '../../http/http-exchange';
import type { SecretsBackend } from '../../secrets/backend-names';
import { GCP_SECRET_REF, GCP_SECRET_VERSION, isNormalSecretRef } from '../../secrets/secret-ref-formats';
import {
  decodeSecretPayload,
  type SecretPayload,
  type SecretReadOptions,
  type SecretResolver,
  type SecretVersionId,
} from '../../secrets/secret-resolver';
import { GcpServiceAccountSecretSchema, readSecretShape } from '../../secrets/secret-shapes';
import type { GcpSecretManagerSettings } from './gcp-settings';
import {
  credentialsFileExchange,
  type GoogleAccessToken,
  GoogleAccessTokens,
  type GoogleTokenExchange,
  ServiceAccountKeyExchange,
} from './google-credentials';
import { callGoogleAuthorized, GoogleApiError, GoogleCredentialsError } from './google-http';

export interface GcpSecretManagerResolverOptions {
  /** `https://secretmanager.googleapis.com`, without a trailing slash. */
  endpoint: string;
  tokens: GoogleAccessTokens;
  /** The most one read may take, token exchange and retries included. @default 2000 */
  budgetMs?: number;
}

/**
 * GCP Secret Manager over its v1 REST surface, on `exchange()`. Google's npm client is not used:
 * it cannot be bundled into one file (it reads its proto files at load) and loading it costs
 * about five times the whole presign bundle (`npm run bench`). `ref` is
 * `projects/<project>/secrets/<secret>`; a `version` pin is a version number, `latest`
 * otherwise. A disabled or destroyed version is a clear not-found, never another version.
 */
export class GcpSecretManagerResolver implements SecretResolver {
  readonly backend = 'gcp_sm' as const;
  private readonly budgetMs: number;

  constructor(private readonly options: GcpSecretManagerResolverOptions) {
    this.budgetMs = options.budgetMs ?? 2000;
  }

  /**
   * From the deployment's settings: a credentials file (read at the first token exchange), or a
   * service-account key read from another backend through `resolverFor` (so through its cache).
   */
  static fromSettings(
    settings: GcpSecretManagerSettings,
    resolverFor: (backend: SecretsBackend) => SecretResolver,
  ): GcpSecretManagerResolver {
    const source = settings.credentials;
    const exchange: GoogleTokenExchange =
      source.kind === 'file'
        ? credentialsFileExchange(source.path, settings.identity)
        : lazyExchange(`service account key in ${source.backend}:${source.ref}`, async (until) => {
            const payload = await resolverFor(source.backend).get(source.ref, null, { deadline: until });
            const { service_account_key_json: json } = readSecretShape(
              GcpServiceAccountSecretSchema,
              source.ref,
              payload,
            );
            return new ServiceAccountKeyExchange(JSON.parse(json));
          });
    return new GcpSecretManagerResolver({
      endpoint: settings.endpoint,
      tokens: new GoogleAccessTokens(exchange),
    });
  }

  get tokens(): GoogleAccessTokens {
    return this.options.tokens;
  }

  async get(ref: string, version?: string | null, options: SecretReadOptions = {}): Promise<SecretPayload> {
    checkRef(ref, version);
    const until = Math.min(Date.now() + this.budgetMs, options.deadline ?? Number.POSITIVE_INFINITY);
    const pin = version ?? 'latest';
    let answer: { payload?: { data?: unknown } };
    try {
      answer = await this.call('GET', `${ref}/versions/${pin}:access`, undefined, until);
    } catch (error) {
      throw await this.translate(error, ref, version, until);
    }
    const data = answer?.payload?.data;
    if (typeof data !== 'string') throw new SecretShapeError(ref, undefined, 'has no payload data');
    return decodeSecretPayload(ref, Buffer.from(data, 'base64').toString('utf8'));
  }

  /** Adds `payload` as a new version (creating the secret, automatic replication, when missing). */
  async put(ref: string, payload: SecretPayload): Promise<SecretVersionId> {
    checkRef(ref, null);
    const until = Date.now() + this.budgetMs * 2;
    const body = { payload: { data: Buffer.from(JSON.stringify(payload), 'utf8').toString('base64') } };
    try {
      let added: { name?: string };
      try {
        added = await this.call('POST', `${ref}:addVersion`, body, until);
      } catch (error) {
        if (!(error instanceof GoogleApiError && error.status === 'NOT_FOUND')) throw error;
        const slash = ref.lastIndexOf('/');
        await this.call(
          'POST',
          `${ref.slice(0, slash)}?secretId=${encodeURIComponent(ref.slice(slash + 1))}`,
          { replication: { automatic: {} } },
          until,
        );
        added = await this.call('POST', `${ref}:addVersion`, body, until);
      }
      const version =
        String(added?.name ?? '')
          .split('/')
          .pop() ?? '';
      if (!/^\d+$/.test(version))
        throw new SecretBackendUnavailableError(`Secret Manager wrote ${ref} without a version`);
      return version;
    } catch (error) {
      throw await this.translate(error, ref, null, until);
    }
  }

  /** One authorized call to Secret Manager v1 (see `callGoogleAuthorized`). */
  // biome-ignore lint/suspicious/noExplicitAny: Secret Manager's JSON answers; callers check what they read.
  private call(method: 'GET' | 'POST', path: string, body: unknown, until: number): Promise<any> {
    return callGoogleAuthorized(this.options.tokens, {
      method,
      url: `${this.options.endpoint}/v1/${path}`,
      body,
      until,
    });
  }

  /** Google's answers become ours by canonical status, never by message. */
  private async translate(
    error: unknown,
    ref: string,
    version: string | null | undefined,
    until: number,
  ): Promise<Error> {
    if (error instanceof BrokerError) return error;
    if (error instanceof GoogleCredentialsError) {
      return new SecretBackendUnavailableError(`${error.message}; secret ${ref} cannot be read`, {
        cause: error,
        transient: !credentialsRefused(error.cause),
      });
    }
    if (!(error instanceof GoogleApiError)) {
      return new SecretBackendUnavailableError(
        error instanceof ExchangeTimeoutError
          ? `Secret Manager did not answer in time for ${ref}`
          : `Secret Manager could not be reached for ${ref}`,
        { cause: error },
      );
    }
    switch (error.status) {
      case 'NOT_FOUND':
        return new SecretNotFoundError(ref, version, { cause: error });
      case 'FAILED_PRECONDITION': {
        // A disabled or destroyed version cannot be accessed: say which, from the version's state.
        const state = await this.versionState(ref, version ?? 'latest', until);
        const which = version === null || version === undefined ? 'its latest version' : `version ${version}`;
        return new SecretNotFoundError(
          ref,
          version,
          { cause: error },
          `was not found: ${which} is ${state === undefined ? 'not enabled' : state.toLowerCase()}`,
        );
      }
      case 'PERMISSION_DENIED':
        return new BucketMisconfiguredError(`access to secret ${ref} was denied by Secret Manager`, {
          cause: error,
        });
      case 'UNAUTHENTICATED':
        return new SecretBackendUnavailableError(
          `Secret Manager refused the broker's credentials for ${ref}`,
          {
            cause: error,
            transient: false,
          },
        );
      case 'RESOURCE_EXHAUSTED':
        return new ThrottledError(`Secret Manager throttled reads of ${ref}`, {
          cause: error,
          retryAfterSeconds: 1,
        });
      case 'INVALID_ARGUMENT':
        return new BucketMisconfiguredError(`Secret Manager refused the request for ${ref}`, {
          cause: error,
        });
      default:
        return new SecretBackendUnavailableError(
          `Secret Manager failed a request for ${ref} (${error.status})`,
          {
            cause: error,
          },
        );
    }
  }

  private async versionState(ref: string, version: string, until: number): Promise<string | undefined> {
    try {
      const answer = await this.call('GET', `${ref}/versions/${version}`, undefined, until);
      return typeof answer?.state === 'string' ? answer.state : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * Whether a token exchange failed because Google (or the backend holding the key) refused it,
 * rather than because it could not be reached.
 */
function credentialsRefused(cause: unknown): boolean {
  if (cause instanceof BrokerError) return !cause.transient;
  return (
    cause instanceof GoogleApiError &&
    cause.httpStatus >= 400 &&
    cause.httpStatus < 500 &&
    cause.httpStatus !== 429
  );
}

function checkRef(ref: string, version: string | null | undefined): void {
  // GCP_SECRET_REF admits no `.` at all; the shared rule is named too, so no backend skips it.
  if (!GCP_SECRET_REF.test(ref) || !isNormalSecretRef(ref)) {
    throw new BucketMisconfiguredError(`secret ref ${ref} is not projects/<project>/secrets/<secret>`);
  }
  if (version !== null && version !== undefined && !GCP_SECRET_VERSION.test(version)) {
    throw new BucketMisconfiguredError(
      `secret ${ref}: a Secret Manager version pin is a number or latest, not ${version}`,
    );
  }
}

/** An exchange built on first use (reading a file or another backend), rebuilt after a failure. */
function lazyExchange(
  description: string,
  build: (until: number) => Promise<GoogleTokenExchange>,
): GoogleTokenExchange {
  return {
    description,
    async fetch(until: number): Promise<GoogleAccessToken> {
      return (await build(until)).fetch(until);
    },
  };
}
