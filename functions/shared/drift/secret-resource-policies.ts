import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The resource-policy seam of the drift check: a secret's policy as JSON text, never its value. */
export interface SecretResourcePolicies {
  /** The policy attached to the secret, or undefined when it has none. */
  get(secretRef: string): Promise<string | undefined>;
}

/** AWS Secrets Manager `GetResourcePolicy`, through the SDK loaded on first use. */
export class AwsSecretResourcePolicies implements SecretResourcePolicies {
  private client: Promise<SecretsManagerClient> | undefined;

  constructor(private readonly options: { client?: SecretsManagerClient } = {}) {}

  async get(secretRef: string): Promise<string | undefined> {
    const sdk = await import('@aws-sdk/client-secrets-manager');
    this.client ??= Promise.resolve(this.options.client ?? new sdk.SecretsManagerClient({}));
    const answer = await (await this.client).send(new sdk.GetResourcePolicyCommand({ SecretId: secretRef }));
    return answer.ResourcePolicy === undefined || answer.ResourcePolicy === ''
      ? undefined
      : answer.ResourcePolicy;
  }
}
