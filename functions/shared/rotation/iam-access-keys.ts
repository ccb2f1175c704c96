import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  type IAMClient,
  ListAccessKeysCommand,
  NoSuchEntityException,
  TagUserCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';

/** One access key of an IAM user, as ListAccessKeys reports it (never its secret). */
export interface IamAccessKey {
  accessKeyId: string;
  status: 'Active' | 'Inactive';
  createdAt: Date;
}

/** What rotation reads of the user: where it lives (the path rule) and its tags (the stamps). */
export interface IamUser {
  name: string;
  path: string;
  tags: Map<string, string>;
}

/**
 * The IAM calls the rotation makes on one user's access keys, on the SDK client (its retries
 * absorb IAM's throttling). The user's tags hold what IAM keeps no field for: when each key
 * stopped being used (access keys cannot be tagged).
 */
export class IamAccessKeys {
  constructor(private readonly client: IAMClient) {}

  /** iam:GetUser: the path (users outside the configured path are refused) and the tags. */
  async user(name: string): Promise<IamUser> {
    const { User } = await this.client.send(new GetUserCommand({ UserName: name }));
    return {
      name,
      path: User?.Path ?? '/',
      tags: new Map((User?.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
    };
  }

  async list(userName: string): Promise<IamAccessKey[]> {
    const keys: IamAccessKey[] = [];
    let marker: string | undefined;
    do {
      const page = await this.client.send(
        new ListAccessKeysCommand({
          UserName: userName,
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      );
      for (const key of page.AccessKeyMetadata ?? []) {
        if (key.AccessKeyId === undefined) continue;
        keys.push({
          accessKeyId: key.AccessKeyId,
          status: key.Status === 'Inactive' ? 'Inactive' : 'Active',
          createdAt: key.CreateDate ?? new Date(0),
        });
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker !== undefined);
    return keys;
  }

  /** iam:CreateAccessKey: the only moment IAM ever tells anyone the secret. */
  async create(userName: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    const { AccessKey } = await this.client.send(new CreateAccessKeyCommand({ UserName: userName }));
    if (AccessKey?.AccessKeyId === undefined || AccessKey.SecretAccessKey === undefined)
      throw new Error(`CreateAccessKey for ${userName} answered without a key`);
    return { accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey };
  }

  async setStatus(userName: string, accessKeyId: string, status: 'Active' | 'Inactive'): Promise<void> {
    await this.client.send(
      new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: status }),
    );
  }

  /** iam:DeleteAccessKey; a key already gone is done (a replayed step deleted it before). */
  async delete(userName: string, accessKeyId: string): Promise<void> {
    try {
      await this.client.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }));
    } catch (error) {
      if (!(error instanceof NoSuchEntityException)) throw error;
    }
  }

  async tag(userName: string, tags: ReadonlyMap<string, string>): Promise<void> {
    if (tags.size === 0) return;
    await this.client.send(
      new TagUserCommand({
        UserName: userName,
        Tags: [...tags].map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  }

  async untag(userName: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.client.send(new UntagUserCommand({ UserName: userName, TagKeys: [...keys] }));
  }
}
