/**
 * What IAM and STS say about an access key and its user: the questions asked before rotation is
 * turned on for a secret holding IAM user keys. Every method may throw the service's own error
 * (its `name` is `AccessDenied`, `NoSuchEntity`, …): `IamRotationEnrollment` decides what each
 * means for the credential.
 */
export interface IamKeyDirectory {
  /** The account of the operator's own credentials (STS GetCallerIdentity). */
  callerAccount(): Promise<string>;
  /** The account that owns the access key (STS GetAccessKeyInfo). */
  keyAccount(accessKeyId: string): Promise<string>;
  /** The IAM user the key belongs to (IAM GetAccessKeyLastUsed → UserName). */
  keyOwner(accessKeyId: string): Promise<string>;
  /** The user's IAM path, e.g. `/gen3-buckets/` (IAM GetUser → Path). */
  userPath(userName: string): Promise<string>;
  /** How many of the user's access keys are active (IAM ListAccessKeys). */
  activeKeyCount(userName: string): Promise<number>;
}

/** The directory of the operator's AWS account, through the SDK's credential chain and endpoints. */
export class AwsIamKeyDirectory implements IamKeyDirectory {
  private clients: ReturnType<typeof loadClients> | undefined;

  private sdk() {
    this.clients ??= loadClients();
    return this.clients;
  }

  async callerAccount(): Promise<string> {
    const { sts } = await this.sdk();
    const answer = await sts.client.send(new sts.sdk.GetCallerIdentityCommand({}));
    return answer.Account ?? '';
  }

  async keyAccount(accessKeyId: string): Promise<string> {
    const { sts } = await this.sdk();
    const answer = await sts.client.send(new sts.sdk.GetAccessKeyInfoCommand({ AccessKeyId: accessKeyId }));
    return answer.Account ?? '';
  }

  async keyOwner(accessKeyId: string): Promise<string> {
    const { iam } = await this.sdk();
    const answer = await iam.client.send(
      new iam.sdk.GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }),
    );
    return answer.UserName ?? '';
  }

  async userPath(userName: string): Promise<string> {
    const { iam } = await this.sdk();
    const answer = await iam.client.send(new iam.sdk.GetUserCommand({ UserName: userName }));
    return answer.User?.Path ?? '/';
  }

  async activeKeyCount(userName: string): Promise<number> {
    const { iam } = await this.sdk();
    let count = 0;
    let marker: string | undefined;
    do {
      const page = await iam.client.send(
        new iam.sdk.ListAccessKeysCommand({
          UserName: userName,
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      );
      count += (page.AccessKeyMetadata ?? []).filter((key) => key.Status === 'Active').length;
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker !== undefined);
    return count;
  }
}

/** IAM and STS load on first use: only `migrate --enable-rotation` and `register --rotate` need them. */
async function loadClients() {
  const [iamSdk, stsSdk] = await Promise.all([import('@aws-sdk/client-iam'), import('@aws-sdk/client-sts')]);
  return {
    iam: { sdk: iamSdk, client: new iamSdk.IAMClient({}) },
    sts: { sdk: stsSdk, client: new stsSdk.STSClient({}) },
  };
}
