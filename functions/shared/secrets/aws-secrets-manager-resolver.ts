import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  BrokerError,
  BucketMisconfiguredError,
  SecretBackendUnavailableError,
  SecretNotFoundError,
  SecretShapeError,
  ThrottledError,
} from '../errors';
import {
  decodeSecretPayload,
  type SecretPayload,
  type SecretResolver,
  type SecretVersionId,
} from './secret-resolver';

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
}

/**
 * AWS Secrets Manager. Always names a stage or a version: an unlabelled `GetSecretValue` means
 * AWSCURRENT on AWS, but emulators have returned stale versions for it.
 */
export class AwsSecretsManagerResolver implements SecretResolver {
  readonly backend = 'aws_sm' as const;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly options: AwsSecretsManagerResolverOptions = {},
  ) {}

  async get(ref: string, version?: string | null): Promise<SecretPayload> {
    const pin = version ?? CURRENT_STAGE;
    const selector = VERSION_ID.test(pin) ? { VersionId: pin } : { VersionStage: pin };
    try {
      const answer = await this.client.send(new GetSecretValueCommand({ SecretId: ref, ...selector }));
      if (answer.SecretString !== undefined) return decodeSecretPayload(ref, answer.SecretString);
      if (answer.SecretBinary !== undefined) {
        return decodeSecretPayload(ref, Buffer.from(answer.SecretBinary).toString('utf8'));
      }
      throw new SecretShapeError(ref, undefined, 'has neither SecretString nor SecretBinary');
    } catch (error) {
      throw translate(error, ref, version);
    }
  }

  async put(ref: string, payload: SecretPayload): Promise<SecretVersionId> {
    const secretString = JSON.stringify(payload);
    try {
      const written = await this.client.send(
        new PutSecretValueCommand({ SecretId: ref, SecretString: secretString }),
      );
      return requireVersionId(written.VersionId, ref);
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw translate(error, ref, undefined);
    }
    try {
      const created = await this.client.send(
        new CreateSecretCommand({ Name: ref, SecretString: secretString, KmsKeyId: this.options.kmsKeyId }),
      );
      return requireVersionId(created.VersionId, ref);
    } catch (error) {
      throw translate(error, ref, undefined);
    }
  }
}

function requireVersionId(versionId: string | undefined, ref: string): string {
  if (versionId === undefined)
    throw new SecretBackendUnavailableError(`Secrets Manager wrote ${ref} without a version id`);
  return versionId;
}

/** Maps SDK errors to ours by exception type, never by message. */
function translate(error: unknown, ref: string, version: string | null | undefined): Error {
  if (error instanceof BrokerError) return error;
  if (error instanceof ResourceNotFoundException)
    return new SecretNotFoundError(ref, version, { cause: error });
  const name = error instanceof Error ? error.name : '';
  const retryable = (error as { $retryable?: { throttling?: boolean } } | null)?.$retryable;
  if (retryable?.throttling || name === 'ThrottlingException') {
    return new ThrottledError(`Secrets Manager throttled reads of ${ref}`, {
      cause: error,
      retryAfterSeconds: 1,
    });
  }
  switch (name) {
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
      return new SecretBackendUnavailableError(`Secrets Manager could not be reached for ${ref}`, {
        cause: error,
      });
  }
}
