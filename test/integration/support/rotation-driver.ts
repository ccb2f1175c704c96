import { RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ROTATION_STEPS, type RotationEvent } from '../../../functions/shared/rotation/minio-key-rotation';

export const ROTATION_LAMBDA_ARN =
  'arn:aws:lambda:us-east-1:123456789012:function:fence-broker-rotate-minio-key';

/**
 * Plays Secrets Manager's part in a rotation: RotateSecret (an empty AWSPENDING version under a
 * new token), then the four steps in order; when a step fails, the whole rotation is attempted
 * again with the same token, as Secrets Manager does.
 */
export class RotationDriver {
  attempts = 0;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly rotationFunction: (event: RotationEvent) => Promise<void>,
  ) {}

  async rotate(
    secretId: string,
    options: { maxAttempts?: number; token?: string; rules?: { AutomaticallyAfterDays: number } } = {},
  ): Promise<string> {
    const token = options.token ?? crypto.randomUUID();
    let lastError: unknown;
    for (let attempt = 1; attempt <= (options.maxAttempts ?? 3); attempt++) {
      this.attempts++;
      try {
        await this.client.send(
          new RotateSecretCommand({
            SecretId: secretId,
            ClientRequestToken: token,
            RotationLambdaARN: ROTATION_LAMBDA_ARN,
            ...(options.rules === undefined ? {} : { RotationRules: options.rules }),
          }),
        );
        for (const step of ROTATION_STEPS)
          await this.rotationFunction({ Step: step, SecretId: secretId, ClientRequestToken: token });
        return token;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }
}
