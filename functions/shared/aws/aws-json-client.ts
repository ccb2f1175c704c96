import { exchange } from '../http/http-exchange';
import { SigV4Presigner } from '../signing/sigv4-presigner';

/** Credentials to sign with; `expiration` lets a provider's credentials be refreshed. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type CredentialSource = () => Promise<AwsCredentials>;

/** An error answer of an AWS JSON API, named by its `__type` (e.g. `ResourceNotFoundException`). */
export class AwsServiceError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly statusCode: number,
    readonly throttling: boolean,
  ) {
    super(message);
  }
}

export interface AwsJsonClientOptions {
  /** Signing name and endpoint prefix, e.g. `dynamodb`, `secretsmanager`. */
  service: string;
  /** `X-Amz-Target` prefix, e.g. `DynamoDB_20120810`, `secretsmanager`. */
  targetPrefix: string;
  /** `application/x-amz-json-1.0` or `-1.1`. */
  jsonVersion: '1.0' | '1.1';
  /** The service's suffix for `AWS_ENDPOINT_URL_<SERVICE>`, e.g. `DYNAMODB`, `SECRETS_MANAGER`. */
  endpointEnvSuffix: string;
  /** @default AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, then the regional AWS endpoint */
  endpoint?: string;
  /** @default AWS_REGION */
  region?: string;
  /** @default credentials from the environment, else the SDK's default provider chain */
  credentials?: CredentialSource;
  /** Attempts including the first. @default 3 */
  maxAttempts?: number;
  /** The most one call may take, all attempts and pauses included. @default 2000 */
  budgetMs?: number;
  /** The most one attempt may take, so a hung attempt leaves time for another. @default 1000 */
  attemptTimeoutMs?: number;
}

/** Per-call limits on top of the client's own budget. */
export interface AwsCallOptions {
  /** Epoch milliseconds the call must be over by (the request's deadline). */
  deadline?: number;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

/**
 * A small client for the AWS JSON protocol, for the two calls on the presign hot path (DynamoDB
 * GetItem and Secrets Manager GetSecretValue). It exists because loading one SDK v3 client costs
 * ~100 ms of cold start here (`npm run bench`), as much as the whole budget; everything off the
 * hot path uses the SDK, loaded lazily. Signing is the broker's SigV4 signer (held equal to the
 * SDK's `SignatureV4` by a property test); endpoints,
 * region and credentials follow the SDK's environment variables, so it runs against AWS, moto
 * or LocalStack alike. Retries throttling, 5xx and network errors with jittered backoff.
 */
export class AwsJsonClient {
  private readonly endpoint: URL;
  private readonly region: string;
  private readonly signer = new SigV4Presigner();
  private readonly credentials: CredentialSource;
  private readonly maxAttempts: number;
  private readonly budgetMs: number;
  private readonly attemptTimeoutMs: number;

  constructor(private readonly options: AwsJsonClientOptions) {
    this.region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    this.endpoint = new URL(
      options.endpoint ?? defaultEndpoint(options.service, options.endpointEnvSuffix, this.region),
    );
    this.maxAttempts = options.maxAttempts ?? 3;
    this.budgetMs = options.budgetMs ?? 2000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 1000;
    this.credentials = options.credentials ?? credentialsFromEnvironment;
  }

  /**
   * Calls `operation` with `input`; resolves to the parsed answer or throws `AwsServiceError`,
   * or the last attempt's error (`ExchangeTimeoutError` when it ran out of time) once retries or
   * the call's budget (or the caller's deadline, if sooner) are spent.
   */
  async call<T>(operation: string, input: unknown, options: AwsCallOptions = {}): Promise<T> {
    const body = JSON.stringify(input);
    const until = Math.min(Date.now() + this.budgetMs, options.deadline ?? Number.POSITIVE_INFINITY);
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.send(operation, body, Math.min(this.attemptTimeoutMs, until - Date.now()))) as T;
      } catch (error) {
        const retryable = !(error instanceof AwsServiceError) || error.throttling || error.statusCode >= 500;
        const pause = Math.random() * 50 * 2 ** attempt;
        // No retry past the budget: the caller answers 503 with Retry-After while it still can.
        if (!retryable || attempt >= this.maxAttempts || Date.now() + pause >= until) throw error;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  private async send(operation: string, body: string, timeoutMs: number): Promise<unknown> {
    const headers = this.signer.signHeaders(await this.credentials(), {
      method: 'POST',
      host: this.endpoint.host,
      path: this.endpoint.pathname,
      headers: {
        'content-type': `application/x-amz-json-${this.options.jsonVersion}`,
        'x-amz-target': `${this.options.targetPrefix}.${operation}`,
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
      region: this.region,
      service: this.options.service,
      now: new Date(),
    });
    const { status, body: text } = await exchange(this.endpoint, {
      method: 'POST',
      headers,
      body,
      timeoutMs,
    });
    const answer: Record<string, unknown> = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    if (status >= 200 && status < 300) return answer;
    const type = String(answer.__type ?? answer.code ?? `HTTP${status}`);
    const name = type.slice(type.lastIndexOf('#') + 1);
    const message = String(answer.message ?? answer.Message ?? name);
    throw new AwsServiceError(name, message, status, THROTTLING.has(name) || status === 429);
  }
}

function defaultEndpoint(service: string, envSuffix: string, region: string): string {
  const configured = process.env[`AWS_ENDPOINT_URL_${envSuffix}`] ?? process.env.AWS_ENDPOINT_URL;
  if (configured) return configured;
  const fips = process.env.AWS_USE_FIPS_ENDPOINT === 'true' ? '-fips' : '';
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${service}${fips}.${region}.${suffix}`;
}

let chain: CredentialSource | undefined;
let fromEnvironment: AwsCredentials | undefined;

/**
 * Lambda puts the execution role's credentials in the environment; elsewhere (a laptop, EC2,
 * ECS) the SDK's provider chain finds them, loaded only then.
 */
export async function credentialsFromEnvironment(): Promise<AwsCredentials> {
  const {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_SESSION_TOKEN: sessionToken,
  } = process.env;
  if (accessKeyId && secretAccessKey) {
    // The same object while the variables stay the same, so the signer's key cache holds.
    if (
      fromEnvironment?.accessKeyId !== accessKeyId ||
      fromEnvironment.secretAccessKey !== secretAccessKey ||
      fromEnvironment.sessionToken !== sessionToken
    ) {
      fromEnvironment = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
    }
    return fromEnvironment;
  }
  if (chain === undefined) {
    const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
    chain = defaultProvider();
  }
  return chain();
}
