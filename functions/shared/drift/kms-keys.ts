import type { KMSClient } from '@aws-sdk/client-kms';

/** What the drift check needs to know of a KMS key: which key a reference resolves to, and its state. */
export interface KmsKeyDescription {
  /** The key's ARN: aliases, ids and ARNs of one key all resolve to it. */
  arn: string;
  /** `Enabled`, `Disabled`, `PendingDeletion`, … */
  state: string;
  enabled: boolean;
}

/** The KMS seam of the drift check: `DescribeKey` only (key metadata, never key material). */
export interface KmsKeys {
  /** The key a reference (id, ARN, alias name or alias ARN) names, or undefined when there is none. */
  describe(keyRef: string): Promise<KmsKeyDescription | undefined>;
}

/** AWS KMS through the SDK, loaded on first use. */
export class AwsKmsKeys implements KmsKeys {
  private client: Promise<KMSClient> | undefined;

  constructor(private readonly options: { client?: KMSClient } = {}) {}

  async describe(keyRef: string): Promise<KmsKeyDescription | undefined> {
    const sdk = await import('@aws-sdk/client-kms');
    this.client ??= Promise.resolve(this.options.client ?? new sdk.KMSClient({}));
    try {
      const answer = await (await this.client).send(new sdk.DescribeKeyCommand({ KeyId: keyRef }));
      const key = answer.KeyMetadata;
      if (key?.Arn === undefined) return undefined;
      return { arn: key.Arn, state: key.KeyState ?? 'Unknown', enabled: key.Enabled === true };
    } catch (error) {
      if (error instanceof sdk.NotFoundException) return undefined;
      throw error;
    }
  }
}
