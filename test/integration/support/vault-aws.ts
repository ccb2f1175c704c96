import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsIdentity } from '../../../functions/shared/backends/vault/vault-aws-auth';
import { uniqueName } from './aws';
import type { VaultRoot } from './vault';

/** A role in the emulator's IAM that this account may assume, as a Lambda's execution role stands in. */
export async function createAssumableRole(label: string): Promise<string> {
  const created = await new IAMClient({}).send(
    new CreateRoleCommand({
      RoleName: uniqueName(label),
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  return String(created.Role?.Arn);
}

/** Credentials of `roleArn` from the emulator's STS, whose GetCallerIdentity answers the assumed role for them. */
export async function assumeRole(roleArn: string, sessionName: string): Promise<Required<AwsIdentity>> {
  const answer = await new STSClient({}).send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName }),
  );
  const credentials = answer.Credentials;
  return {
    accessKeyId: String(credentials?.AccessKeyId),
    secretAccessKey: String(credentials?.SecretAccessKey),
    sessionToken: String(credentials?.SessionToken),
  };
}

/**
 * Points the AWS auth method at `mount` to the run's emulators: Vault sends the signed
 * GetCallerIdentity to `sts_endpoint`, and resolves a bound role to its unique id through IAM at
 * `iam_endpoint` (the default `resolve_aws_unique_ids=true`, with the emulator's dummy keys).
 * What an operator sets on a real Vault (the server id, the role) stays for the test to write.
 */
export async function pointAwsAuthAtEmulator(root: VaultRoot, mount: string): Promise<void> {
  await root.call('POST', `auth/${mount}/config/client`, {
    sts_endpoint: stsEndpoint(),
    sts_region: process.env.AWS_REGION,
    // IAM is always moto's (AWS_ENDPOINT_URL); LocalStack runs no IAM here.
    iam_endpoint: process.env.AWS_ENDPOINT_URL,
    access_key: 'testing',
    secret_key: 'testing',
  });
}

/** The emulator's STS, which the broker signs for in these tests (VAULT_AWS_STS_ENDPOINT). */
export function stsEndpoint(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL_STS ?? process.env.AWS_ENDPOINT_URL;
  if (endpoint === undefined) throw new Error('the AWS emulator environment sets no STS endpoint');
  return endpoint;
}

/** The `client_arn` Vault recorded for each live token that logged in through `mount`. */
export async function loggedInArns(root: VaultRoot, mount: string): Promise<string[]> {
  const listed = await root.call('LIST', 'auth/token/accessors');
  const arns: string[] = [];
  for (const accessor of listed.body.data.keys as string[]) {
    const token = (await root.call('POST', 'auth/token/lookup-accessor', { accessor })).body.data;
    if (String(token?.path ?? '').startsWith(`auth/${mount}/`)) arns.push(String(token.meta?.client_arn));
  }
  return arns;
}
