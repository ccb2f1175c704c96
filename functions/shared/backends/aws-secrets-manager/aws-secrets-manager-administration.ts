import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  BrokerError,
  InvalidRequestError,
  RotationNotConfiguredError,
  SecretBackendUnavailableError,
  SecretExistsError,
  ThrottledError,
} from '../../errors';
import type {
  SecretAdministration,
  SecretCreation,
  SecretDescription,
  SecretRotationSetting,
} from '../../secrets/secret-administration';
import type { SecretPayload } from '../../secrets/secret-resolver';

export interface AwsSecretsManagerAdministrationOptions {
  /** Endpoint override (else the SDK's environment variables). */
  endpoint?: string;
  region?: string;
  /** A client to use instead of building one (the CLI passes its profile's). */
  client?: SecretsManagerClient;
}

/**
 * AWS Secrets Manager, admin side. Loads the SDK client on first use: the admin function and the
 * CLI use it, the presign function never does.
 */
export class AwsSecretsManagerAdministration implements SecretAdministration {
  readonly backend = 'aws_sm' as const;
  private client: Promise<SecretsManagerClient> | undefined;

  constructor(private readonly options: AwsSecretsManagerAdministrationOptions = {}) {}

  private async sdk() {
    const sdk = await import('@aws-sdk/client-secrets-manager');
    this.client ??= Promise.resolve(
      this.options.client ??
        new sdk.SecretsManagerClient({
          ...(this.options.endpoint === undefined ? {} : { endpoint: this.options.endpoint }),
          ...(this.options.region === undefined ? {} : { region: this.options.region }),
        }),
    );
    return { sdk, client: await this.client };
  }

  async describe(ref: string): Promise<SecretDescription | undefined> {
    const { sdk, client } = await this.sdk();
    try {
      const answer = await client.send(new sdk.DescribeSecretCommand({ SecretId: ref }));
      // A secret scheduled for deletion is gone for every purpose of the broker.
      if (answer.DeletedDate !== undefined) return undefined;
      return {
        ref: answer.ARN ?? ref,
        name: answer.Name ?? ref,
        rotationEnabled: answer.RotationEnabled === true,
        ...(answer.RotationLambdaARN ? { rotationFunctionArn: answer.RotationLambdaARN } : {}),
        ...(answer.KmsKeyId ? { kmsKeyId: answer.KmsKeyId } : {}),
        ...(answer.RotationRules === undefined
          ? {}
          : {
              rotationRules: {
                ...(answer.RotationRules.AutomaticallyAfterDays === undefined
                  ? {}
                  : { automaticallyAfterDays: answer.RotationRules.AutomaticallyAfterDays }),
                ...(answer.RotationRules.ScheduleExpression
                  ? { scheduleExpression: answer.RotationRules.ScheduleExpression }
                  : {}),
                ...(answer.RotationRules.Duration ? { duration: answer.RotationRules.Duration } : {}),
              },
            }),
        ...(answer.LastRotatedDate === undefined ? {} : { lastRotatedAt: answer.LastRotatedDate }),
        ...(answer.CreatedDate === undefined ? {} : { createdAt: answer.CreatedDate }),
        versions: Object.entries(answer.VersionIdsToStages ?? {}).map(([id, stages]) => ({ id, stages })),
        ...(answer.Tags === undefined
          ? {}
          : {
              tags: Object.fromEntries(
                answer.Tags.flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? '']])),
              ),
            }),
      };
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      throw translate(error, ref);
    }
  }

  /** `PutSecretValue`: the new version takes AWSCURRENT, the one before becomes AWSPREVIOUS. */
  async putValue(ref: string, payload: SecretPayload): Promise<string> {
    const { sdk, client } = await this.sdk();
    try {
      const answer = await client.send(
        new sdk.PutSecretValueCommand({
          SecretId: ref,
          SecretString: JSON.stringify(payload),
          // One token per call: a retry of this call by the SDK is not a second version.
          ClientRequestToken: crypto.randomUUID(),
        }),
      );
      return answer.VersionId ?? '';
    } catch (error) {
      throw translate(error, ref);
    }
  }

  async create(name: string, payload: SecretPayload, options: SecretCreation): Promise<SecretDescription> {
    const { sdk, client } = await this.sdk();
    try {
      const created = await client.send(
        new sdk.CreateSecretCommand({
          Name: name,
          SecretString: JSON.stringify(payload),
          ...(options.kmsKeyId === undefined ? {} : { KmsKeyId: options.kmsKeyId }),
          ...(options.description === undefined ? {} : { Description: options.description }),
          Tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      return {
        ref: created.ARN ?? name,
        name: created.Name ?? name,
        rotationEnabled: false,
        ...(options.kmsKeyId === undefined ? {} : { kmsKeyId: options.kmsKeyId }),
        versions: created.VersionId === undefined ? [] : [{ id: created.VersionId, stages: ['AWSCURRENT'] }],
      };
    } catch (error) {
      if (errorName(error) === 'ResourceExistsException') throw new SecretExistsError(name, { cause: error });
      throw translate(error, name);
    }
  }

  /** `ListSecretVersionIds` (metadata only), page by page until the version is found. */
  async versionCreatedAt(ref: string, versionId: string): Promise<Date | undefined> {
    const { sdk, client } = await this.sdk();
    try {
      let token: string | undefined;
      do {
        const page = await client.send(
          new sdk.ListSecretVersionIdsCommand({
            SecretId: ref,
            MaxResults: 100,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        );
        const version = page.Versions?.find((entry) => entry.VersionId === versionId);
        if (version !== undefined) return version.CreatedDate;
        token = page.NextToken || undefined;
      } while (token !== undefined);
      return undefined;
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      throw translate(error, ref);
    }
  }

  async tag(ref: string, tags: Record<string, string>): Promise<void> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(
        new sdk.TagResourceCommand({
          SecretId: ref,
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
    } catch (error) {
      throw translate(error, ref);
    }
  }

  /**
   * `RotateSecret` with `RotateImmediately: false`: the schedule starts, the keys stay as they
   * are until the first rotation is due (AWS only runs testSecret to check the configuration).
   */
  async enableRotation(ref: string, rotation: SecretRotationSetting): Promise<void> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(
        new sdk.RotateSecretCommand({
          SecretId: ref,
          ClientRequestToken: crypto.randomUUID(),
          RotationLambdaARN: rotation.functionArn,
          RotationRules: { AutomaticallyAfterDays: rotation.automaticallyAfterDays },
          RotateImmediately: false,
        }),
      );
    } catch (error) {
      throw translate(error, ref);
    }
  }

  async remove(ref: string, recoveryWindowDays: number): Promise<void> {
    const { sdk, client } = await this.sdk();
    try {
      await client.send(
        new sdk.DeleteSecretCommand({ SecretId: ref, RecoveryWindowInDays: recoveryWindowDays }),
      );
    } catch (error) {
      throw translate(error, ref);
    }
  }

  async rotate(ref: string): Promise<string> {
    const { sdk, client } = await this.sdk();
    try {
      const answer = await client.send(
        new sdk.RotateSecretCommand({ SecretId: ref, ClientRequestToken: crypto.randomUUID() }),
      );
      return answer.VersionId ?? '';
    } catch (error) {
      // Without a rotation function configured, Secrets Manager refuses RotateSecret.
      if (errorName(error) === 'InvalidRequestException') {
        throw new RotationNotConfiguredError(
          `secret ${ref} cannot rotate now: rotation is not configured, or a rotation is already in progress`,
          { cause: error },
        );
      }
      throw translate(error, ref);
    }
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** Service errors become ours by exception name; messages never carry a secret value. */
function translate(error: unknown, ref: string): Error {
  if (error instanceof BrokerError) return error;
  const name = errorName(error);
  if (
    name === 'ThrottlingException' ||
    (error as { $retryable?: { throttling?: boolean } })?.$retryable?.throttling
  ) {
    return new ThrottledError(`Secrets Manager throttled a request for ${ref}`, {
      cause: error,
      retryAfterSeconds: 1,
    });
  }
  switch (name) {
    case 'AccessDeniedException':
      return new InvalidRequestError(`access to secret ${ref} was denied to the admin role`, 'secret_ref', {
        cause: error,
      });
    case 'InvalidParameterException':
    case 'InvalidRequestException':
    case 'ValidationException':
    case 'MalformedPolicyDocumentException':
      return new InvalidRequestError(`Secrets Manager refused the request for ${ref}`, 'secret_ref', {
        cause: error,
      });
    default:
      return new SecretBackendUnavailableError(`Secrets Manager failed a request for ${ref}`, {
        cause: error,
      });
  }
}
