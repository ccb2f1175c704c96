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
import { VaultAdministration } from '../../../../functions/shared/backends/vault/vault-administration';
import { VaultClient } from '../../../../functions/shared/backends/vault/vault-client';
import { VaultResolver } from '../../../../functions/shared/backends/vault/vault-resolver';
import { readVaultSettings } from '../../../../functions/shared/backends/vault/vault-settings';
import { readEnvironment } from '../../../../functions/shared/config/environment';
import { BucketMisconfiguredError, SecretBackendUnavailableError } from '../../../../functions/shared/errors';
import { openBaoBinary } from '../../services/openbao';
import { uniqueName } from '../../support/aws';
import { docBlock } from '../../support/doc-block';
import { VaultRoot } from '../../support/vault';
import { assumeRole, stsEndpoint } from '../../support/vault-aws';

/** A `-c key=value` of the page's cdk command under "## Vault from Lambda" (docs/deploying.md). */
function deployContext(key: string): string {
  const value = new RegExp(`-c ${key}=(\\S+)`).exec(
    docBlock('docs/deploying.md', '## Vault from Lambda'),
  )?.[1];
  if (value === undefined) throw new Error(`docs/deploying.md's Vault deploy command sets no ${key}`);
  return value;
}

/** The functions, their stack output and the context key of their Vault role, as the page names them. */
const FUNCTIONS = [
  { name: 'presign', output: 'VaultPresignBoundRoleArn', context: 'vaultPresignRole' },
  { name: 'admin', output: 'VaultAdminBoundRoleArn', context: 'vaultAdminRole' },
  { name: 'drift', output: 'VaultDriftCheckBoundRoleArn', context: 'vaultDriftRole' },
] as const;

/** The error `call` fails with (undefined if it succeeds). */
const failure = (call: Promise<unknown>): Promise<Error | undefined> =>
  call.then(
    () => undefined,
    (error: Error) => error,
  );

describe('docs: Vault backend, AWS auth for the Lambdas', () => {
  it("binds each function's output to its own Vault role as shown: presign and drift read but cannot write, the admin API writes but never under admin/", async () => {
    // Prepare: a FenceBucketBroker stack in the emulator whose outputs name one execution role
    // per function, as the real stack's do; the page's three policies.
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
        Resources: Object.fromEntries(
          FUNCTIONS.map((fn) => [`${fn.name}Role`, roleResource(`${fn.name}Role`)]),
        ),
        Outputs: Object.fromEntries(
          FUNCTIONS.map((fn) => [fn.output, { Value: { 'Fn::GetAtt': [`${fn.name}Role`, 'Arn'] } }]),
        ),
      }),
    );
    // The AWS CLI, as the page's own command uses it (moto serves CloudFormation); it reads
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
      policy: docBlock('docs/secrets-backends.md', '## Vault backend', 'hcl'),
    });
    writeFileSync(
      join(directory, 'fence-broker-admin.hcl'),
      docBlock('docs/secrets-backends.md', '## Vault backend', 'hcl', 1),
    );
    writeFileSync(
      join(directory, 'fence-broker-drift.hcl'),
      docBlock('docs/secrets-backends.md', '## Vault backend', 'hcl', 2),
    );
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
    // set right after the page enables it and before the page writes the roles.
    const emulatorEndpoints = [
      `sts_endpoint=${stsEndpoint()}`,
      `sts_region=${process.env.AWS_REGION}`,
      `iam_endpoint=${process.env.AWS_ENDPOINT_URL}`,
      'access_key=testing',
      'secret_key=testing',
    ].join(' ');
    const script = `bao() { command bao "$@"; if [ "$*" = "auth enable aws" ]; then command bao write auth/aws/config/client ${emulatorEndpoints} >/dev/null; fi; }
${docBlock('docs/secrets-backends.md', '## Vault backend', 'bash', 1)}`;

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
    /** A function's Vault client: its own role's credentials, its Vault role from the deploy command. */
    const clientOf = async (fn: (typeof FUNCTIONS)[number], vaultRole = deployContext(fn.context)) => {
      const roleArn = String(
        (await root.call('GET', `auth/aws/role/${deployContext(fn.context)}`)).body.data
          .bound_iam_principal_arn,
      );
      const identity = await assumeRole(roleArn, fn.name);
      return VaultClient.fromSettings(
        readVaultSettings(
          readEnvironment(SecretsEnvironmentSchema, {
            FENCE_SECRETS_BACKEND: 'vault',
            VAULT_ADDR: root.address,
            VAULT_AUTH_METHOD: 'aws',
            VAULT_ROLE: vaultRole,
            VAULT_AWS_IAM_SERVER_ID: deployContext('vaultIamServerId'),
            VAULT_AWS_STS_ENDPOINT: stsEndpoint(),
          }),
        ),
        { awsCredentials: async () => identity },
      );
    };
    const [presign, admin, drift] = await Promise.all(FUNCTIONS.map((fn) => clientOf(fn)));
    if (presign === undefined || admin === undefined || drift === undefined) throw new Error('three clients');
    const written = (client: VaultClient, name: string) =>
      new VaultAdministration(client, 'secret').create(
        name,
        { access_key_id: 'written', secret_access_key: 's' },
        { tags: { purpose: 'readme-test' } },
      );
    const reads = await Promise.all(
      [presign, admin, drift].map((client) =>
        new VaultResolver(client).get(`secret/gen3/fence/minio/${bucket}`),
      ),
    );
    const presignWrite = await failure(written(presign, `gen3/fence/minio/${bucket}-by-presign`));
    const driftWrite = await failure(written(drift, `gen3/fence/minio/${bucket}-by-drift`));
    const adminWrite = await failure(written(admin, `gen3/fence/minio/${bucket}-by-admin`));
    const adminUnderAdmin = await failure(written(admin, `gen3/fence/admin/minio/${bucket}-by-admin`));
    const presignUnderAdmin = await failure(
      new VaultResolver(presign).get(`secret/gen3/fence/admin/minio/${bucket}`),
    );
    const presignAsAdmin = await failure(
      new VaultResolver(await clientOf(FUNCTIONS[0], deployContext('vaultAdminRole'))).get(
        `secret/gen3/fence/minio/${bucket}`,
      ),
    );
    const stored = async (path: string) => (await root.call('GET', `secret/data/${path}`)).status;

    // Assess
    expect(reads.map((read) => read.access_key_id)).toEqual([
      'readme-aws-key',
      'readme-aws-key',
      'readme-aws-key',
    ]);
    expect(presignWrite).toBeDefined();
    expect(driftWrite).toBeDefined();
    expect(await stored(`gen3/fence/minio/${bucket}-by-presign`)).toBe(404);
    expect(await stored(`gen3/fence/minio/${bucket}-by-drift`)).toBe(404);
    expect(adminWrite).toBeUndefined();
    expect(await stored(`gen3/fence/minio/${bucket}-by-admin`)).toBe(200);
    expect(adminUnderAdmin).toBeDefined();
    expect(await stored(`gen3/fence/admin/minio/${bucket}-by-admin`)).toBe(404);
    expect(presignUnderAdmin).toBeInstanceOf(BucketMisconfiguredError);
    // Presign's execution role is not bound to the admin's Vault role: the login is refused.
    expect(presignAsAdmin).toBeInstanceOf(SecretBackendUnavailableError);
  }, 60_000);
});
