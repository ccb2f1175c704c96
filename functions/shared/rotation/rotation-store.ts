import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { decodeSecretPayload, type SecretPayload } from '../secrets/secret-resolver';

/** What rotation reads of a secret's metadata. */
export interface RotationMetadata {
  arn: string;
  name: string;
  rotationEnabled: boolean;
  /** Version id → staging labels. */
  versions: Record<string, string[]>;
}

/**
 * The Secrets Manager calls a rotation makes, on the SDK client (rotation is far from the hot
 * path). Reads always name a stage or a version.
 */
export class RotationStore {
  constructor(private readonly client: SecretsManagerClient) {}

  async describe(secretId: string): Promise<RotationMetadata> {
    const answer = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    return {
      arn: answer.ARN ?? secretId,
      name: answer.Name ?? secretId,
      rotationEnabled: answer.RotationEnabled === true,
      versions: answer.VersionIdsToStages ?? {},
    };
  }

  /** The payload at a stage (and version), or undefined when that version has no value yet. */
  async read(secretId: string, stage: string, versionId?: string): Promise<SecretPayload | undefined> {
    return this.get(secretId, { VersionStage: stage, ...(versionId ? { VersionId: versionId } : {}) });
  }

  /** The payload of one version, whatever its labels; undefined when it has no value. */
  async readVersion(secretId: string, versionId: string): Promise<SecretPayload | undefined> {
    return this.get(secretId, { VersionId: versionId });
  }

  private async get(
    secretId: string,
    at: { VersionStage?: string; VersionId?: string },
  ): Promise<SecretPayload | undefined> {
    try {
      const answer = await this.client.send(new GetSecretValueCommand({ SecretId: secretId, ...at }));
      return answer.SecretString === undefined
        ? undefined
        : decodeSecretPayload(secretId, answer.SecretString);
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  /**
   * Stores `payload` as the token's AWSPENDING value. Returns false when the token already holds
   * another value (a replayed createSecret lost the race): that stored value is the one to use.
   */
  async putPending(secretId: string, token: string, payload: SecretPayload): Promise<boolean> {
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: token,
          SecretString: JSON.stringify(payload),
          VersionStages: ['AWSPENDING'],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ResourceExistsException) return false;
      throw error;
    }
  }

  async moveCurrent(secretId: string, toVersion: string, fromVersion: string): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: toVersion,
        RemoveFromVersionId: fromVersion,
      }),
    );
  }
}
