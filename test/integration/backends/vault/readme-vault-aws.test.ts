/**
 * @sts-on-moto Vault resolves the bound roles to their unique ids through IAM, which only moto
 * serves here, and LocalStack's STS answers for another account and its own assumed-role ids
 * (secrets/vault-aws-auth.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SecretsEnvironmentSchema } from '../../../../functions/shared/backends/secrets-environment';
import { VaultResolver } from '../../../../functions/shared/backends/vault/vault-resolver';
import { readVaultSettings } from '../../../../functions/shared/backends/vault/vault-settings';
import { readEnvironment } from '../../../../functions/shared/config/environment';
import { BucketMisconfiguredError } from '../../../../functions/shared/errors';
import { openBaoBinary } from '../../services/openbao';
import { uniqueName } from '../../support/aws';
import { readmeBlock } from '../../support/readme';
import { VaultRoot } from '../../support/vault';
import { assumeRole, stsEndpoint } from '../../support/vault-aws';

/** A `-c key=value` of the README's cdk command under "### Vault from Lambda". */
function deployContext(key: string): string {
  const value = new RegExp(`-c ${key}=(\\S+)`).exec(readmeBlock('### Vault from Lambda'))?.[1];
  if (value === undefined) throw new Error(`the README's Vault deploy command sets no ${key}`);
  return value;
}

describe('README: Vault backend, AWS auth for the Lambdas', () => {
  it("binds the stack's VaultBoundRoleArns as shown, and each function's role logs in with the settings the deploy command gives", async () => {
    // Prepare: a FenceBucketBroker stack in the emulator whose output names three execution
    // roles, as the real stack's does; the README's policy.
    const root = VaultRoot.ofRun();
    const directory = mkdtempSync(join(tmpdir(), 'fbb-readme-vault-aws-'));
    const roleResource = (name: string) => ({
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: uniqueName(name),
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: 'arn:aws:iam::123456789012:root' },
              Action: 'sts:AssumeRole',
            },
          ],
        },
      },
    });
    const template = join(directory, 'stack.json');
    writeFileSync(
      template,
      JSON.stringify({
        Resources: {
          PresignRole: roleResource('PresignRole'),
          AdminRole: roleResource('AdminRole'),
          DriftCheckRole: roleResource('DriftCheckRole'),
        },
        Outputs: {
          VaultBoundRoleArns: {
            Value: {
              'Fn::Join': [
                ',',
                ['PresignRole', 'AdminRole', 'DriftCheckRole'].map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
              ],
            },
          },
        },
      }),
    );
    // The AWS CLI, as the README's own command uses it (moto serves CloudFormation); it reads
    // the region from AWS_DEFAULT_REGION, which a reader's profile would give.
    const awsCli = { ...process.env, AWS_DEFAULT_REGION: process.env.AWS_REGION };
    for (const action of ['create-stack', 'wait stack-create-complete']) {
      execFileSync(
        'aws',
        [
          'cloudformation',
          ...action.split(' '),
          '--stack-name',
          'FenceBucketBroker',
          ...(action === 'create-stack' ? ['--template-body', `file://${template}`] : []),
        ],
        { env: awsCli, stdio: 'pipe' },
      );
    }
    await root.call('PUT', 'sys/policies/acl/fence-broker-read', {
      policy: readmeBlock('### Vault backend', 'hcl'),
    });
    const bucket = uniqueName('readme-aws');
    await root.writeSecret(`gen3/fence/minio/${bucket}`, {
      access_key_id: 'readme-aws-key',
      secret_access_key: 's',
    });
    await root.writeSecret(`gen3/fence/admin/minio/${bucket}`, {
      access_key_id: 'admin',
      secret_access_key: 's',
    });
    // Vault on AWS needs no endpoints; here the auth method's STS and IAM are the emulator's,
    // set right after the README enables it and before the README writes the role.
    const emulatorEndpoints = [
      `sts_endpoint=${stsEndpoint()}`,
      `sts_region=${process.env.AWS_REGION}`,
      `iam_endpoint=${process.env.AWS_ENDPOINT_URL}`,
      'access_key=testing',
      'secret_key=testing',
    ].join(' ');
    const script = `bao() { command bao "$@"; if [ "$*" = "auth enable aws" ]; then command bao write auth/aws/config/client ${emulatorEndpoints} >/dev/null; fi; }
${readmeBlock('### Vault backend', 'bash', 1)}`;

    // Act
    execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: directory,
      env: {
        ...awsCli,
        PATH: `${dirname(openBaoBinary())}:${process.env.PATH}`,
        HOME: directory,
        BAO_ADDR: root.address,
        BAO_TOKEN: root.rootToken,
      },
      stdio: 'pipe',
    });
    const bound = String(
      (await root.call('GET', 'auth/aws/role/fence-bucket-broker')).body.data.bound_iam_principal_arn,
    ).split(',');
    const resolvers = await Promise.all(
      bound.map(async (roleArn) => {
        const identity = await assumeRole(roleArn, 'function');
        return VaultResolver.fromSettings(
          readVaultSettings(
            readEnvironment(SecretsEnvironmentSchema, {
              FENCE_SECRETS_BACKEND: 'vault',
              VAULT_ADDR: root.address,
              VAULT_AUTH_METHOD: 'aws',
              VAULT_ROLE: deployContext('vaultAwsAuthRole'),
              VAULT_AWS_IAM_SERVER_ID: deployContext('vaultIamServerId'),
              VAULT_AWS_STS_ENDPOINT: stsEndpoint(),
            }),
          ),
          { awsCredentials: async () => identity },
        );
      }),
    );
    const reads = await Promise.all(
      resolvers.map((resolver) => resolver.get(`secret/gen3/fence/minio/${bucket}`)),
    );
    const admin = await resolvers[0]?.get(`secret/gen3/fence/admin/minio/${bucket}`).then(
      () => undefined,
      (error: Error) => error,
    );

    // Assess
    expect(bound).toHaveLength(3);
    expect(reads.map((read) => read.access_key_id)).toEqual([
      'readme-aws-key',
      'readme-aws-key',
      'readme-aws-key',
    ]);
    expect(admin).toBeInstanceOf(BucketMisconfiguredError);
  }, 60_000);
});
