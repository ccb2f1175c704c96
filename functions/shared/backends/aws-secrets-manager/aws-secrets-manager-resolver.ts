import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsJsonClient, type AwsJsonClientOptions, AwsServiceError } from '../../aws/aws-json-client';
import {
  BrokerError,
  BucketMisconfiguredError,
  SecretBackendUnavailableError,
  SecretNotFoundError,
  SecretShapeError,
  ThrottledError,
} from '../../errors';
import { ExchangeTimeoutError } from '../../http/http-exchange';
import { isNormalSecretRef, SECRET_REF_SEGMENTS_RULE } from '../../secrets/secret-ref-formats';
import {
  decodeSecretPayload,
  type SecretPayload,
  type SecretReadOptions,
  type SecretResolver,
  type SecretVersionId,
} from '../../secrets/secret-resolver';

/** Staging label that marks the version in use. */
export const CURRENT_STAGE = 'AWSCURRENT';

/**
 * A pin is a version id when it looks like one (Secrets Manager's client request tokens are
 * UUIDs or 32–64 characters of hex and dashes); anything else is a staging label such as
 * AWSPREVIOUS.
 */
const VERSION_ID = /^[0-9a-fA-F-]{32,64}$/;

export interface AwsSecretsManagerResolverOptions {
  /** KMS key for secrets this resolver creates. @default the account's aws/secretsmanager key */
  kmsKeyId?: string;
  /** Endpoint override (else the SDK's environment variables). */
  endpoint?: string;
  region?: string;
  /** Attempts per read, including the first. @default 3 */
  maxAttempts?: number;
  /** The most one read may take, retries included. @default 2000 */
  budgetMs?: number;
}

/**
 * AWS Secrets Manager. Reads go through the small JSON client (the presign hot path); writes,
 * which only admin flows make, load the SDK client when first needed. Always names a stage or a
 * version: an unlabelled `GetSecretValue` means AWSCURRENT on AWS, but emulators have returned
 * stale versions for it.
 */
export class AwsSecretsManagerResolver implements SecretResolver {
  readonly backend = 'aws_sm' as const;
  private readonly reads: AwsJsonClient;
  private writer: Promise<SecretsManagerClient> | undefined;

  constructor(private readonly options: AwsSecretsManagerResolverOptions = {}) {
    const clientOptions: AwsJsonClientOptions = {
      service: 'secretsmanager',
      targetPrefix: 'secretsmanager',
      jsonVersion: '1.1',
      endpointEnvSuffix: 'SECRETS_MANAGER',
    };
    if (options.endpoint !== undefined) clientOptions.endpoint = options.endpoint;
    if (options.region !== undefined) clientOptions.region = options.region;
    if (options.maxAttempts !== undefined) clientOptions.maxAttempts = options.maxAttempts;
    if (options.budgetMs !== undefined) clientOptions.budgetMs = options.budgetMs;
    this.reads = new AwsJsonClient(clientOptions);
  }

  async get(ref: string, version?: string | null, options: SecretReadOptions = {}): Promise<SecretPayload> {
    checkRef(ref);
    const pin = version ?? CURRENT_STAGE;
    const selector = VERSION_ID.test(pin) ? { VersionId: pin } : { VersionStage: pin };
    try {
      const answer = await this.reads.call<{ SecretString?: string; SecretBinary?: string }>(
        'GetSecretValue',
        {
          SecretId: ref,
          ...selector,
        },
        options,
      );
      if (answer.SecretString !== undefined) return decodeSecretPayload(ref, answer.SecretString);
      if (answer.SecretBinary !== undefined) {
        return decodeSecretPayload(ref, Buffer.from(answer.SecretBinary, 'base64').toString('utf8'));
      }
      throw new SecretShapeError(ref, undefined, 'has neither SecretString nor SecretBinary');
    } catch (error) {
      throw translate(error, ref, version);
    }
  }

  async put(ref: string, payload: SecretPayload): Promise<SecretVersionId> {
    checkRef(ref);
    const sdk = await import('@aws-sdk/client-secrets-manager');
    this.writer ??= Promise.resolve(
      new sdk.SecretsManagerClient({
        ...(this.options.endpoint === undefined ? {} : { endpoint: this.options.endpoint }),
        ...(this.options.region === undefined ? {} : { region: this.options.region }),
      }),
    );
    const client = await this.writer;
    const secretString = JSON.stringify(payload);
    try {
      const written = await client.send(
        new sdk.PutSecretValueCommand({ SecretId: ref, SecretString: secretString }),
      );
      return requireVersionId(written.VersionId, ref);
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw translate(error, ref, undefined);
    }
    try {
      const created = await client.send(
        new sdk.CreateSecretCommand({
          Name: ref,
          SecretString: secretString,
          KmsKeyId: this.options.kmsKeyId,
        }),
      );
      return requireVersionId(created.VersionId, ref);
    } catch (error) {
      throw translate(error, ref, undefined);
    }
  }
}

/**
 * Names are flat in Secrets Manager, but the prefix, its admin sub-path and IAM's patterns read
 * them as paths: a name with `.`, `..` or empty segments is refused, as in every backend.
 */
function checkRef(ref: string): void {
  if (!isNormalSecretRef(ref)) {
    throw new BucketMisconfiguredError(`secret ref ${ref} ${SECRET_REF_SEGMENTS_RULE}`);
  }
}

function requireVersionId(versionId: string | undefined, ref: string): string {
  if (versionId === undefined)
    throw new SecretBackendUnavailableError(`Secrets Manager wrote ${ref} without a version id`);
  return versionId;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** Maps service errors (from the JSON client or the SDK) to ours by exception name, never by message. */
function translate(error: unknown, ref: string, version: string | null | undefined): Error {
  if (error instanceof BrokerError) return error;
  const name = errorName(error);
  const throttling =
    (error as { throttling?: boolean; $retryable?: { throttling?: boolean } } | null)?.throttling ||
    (error as { $retryable?: { throttling?: boolean } } | null)?.$retryable?.throttling;
  if (throttling || name === 'ThrottlingException') {
    return new ThrottledError(`Secrets Manager throttled reads of ${ref}`, {
      cause: error,
      retryAfterSeconds: 1,
    });
  }
  switch (name) {
    case 'ResourceNotFoundException':
      return new SecretNotFoundError(ref, version, { cause: error });
    case 'AccessDeniedException':
      return new BucketMisconfiguredError(`access to secret ${ref} was denied`, { cause: error });
    case 'DecryptionFailure':
      return new BucketMisconfiguredError(`secret ${ref} could not be decrypted with its KMS key`, {
        cause: error,
      });
    case 'InvalidRequestException':
    case 'InvalidParameterException':
      return new BucketMisconfiguredError(`Secrets Manager refused the request for ${ref}`, { cause: error });
    default:
      if (refusal(error)) {
        // Any other 4xx is an answer about the broker's own request (its identity, a signature):
        // retrying will not change it, so no cached value may outlive it.
        return new SecretBackendUnavailableError(`Secrets Manager refused the request for ${ref} (${name})`, {
          cause: error,
          transient: false,
        });
      }
      return new SecretBackendUnavailableError(
        error instanceof ExchangeTimeoutError
          ? `Secrets Manager did not answer in time for ${ref}`
          : `Secrets Manager could not be reached for ${ref}`,
        { cause: error },
      );
  }
}

/** A 4xx answer (throttling is told apart before), from the JSON client or the SDK. */
function refusal(error: unknown): boolean {
  const status =
    error instanceof AwsServiceError
      ? error.statusCode
      : (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500;
}
