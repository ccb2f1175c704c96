import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lambdaFunctions, synthDocumentedDeploy } from './readme-synth';

const VAULT_CA = join(__dirname, 'fixtures/vault-ca.pem');

describe('docs/deploying.md: Vault from Lambda', () => {
  it('synthesizes offline with the context shown: Vault AWS auth in the three functions, each its own Vault role, the CA in their bundles, one role to bind per function as outputs', async () => {
    // Prepare / Act: the page's deploy command as an offline synth, with the fixture standing in
    // for the reader's vault-ca.pem
    const { template, out } = await synthDocumentedDeploy('docs/deploying.md', '## Vault from Lambda', [
      ['vaultCaCertFile=vault-ca.pem', `vaultCaCertFile=${VAULT_CA}`],
    ]);

    // Assess
    const functions = lambdaFunctions(template);
    const vault = functions.filter(
      (fn) => fn.Properties.Environment?.Variables?.FENCE_SECRETS_BACKEND === 'aws_sm,vault',
    );
    expect(vault).toHaveLength(3);
    for (const fn of vault) {
      expect(fn.Properties.Environment?.Variables).toMatchObject({
        VAULT_ADDR: 'https://vault.example.org:8200',
        VAULT_AUTH_METHOD: 'aws',
        VAULT_AWS_IAM_SERVER_ID: 'vault.example.org',
        VAULT_CACERT: '/var/task/vault-ca.pem',
      });
    }
    expect(vault.map((fn) => fn.Properties.Environment?.Variables?.VAULT_ROLE).sort()).toEqual([
      'fence-broker-admin',
      'fence-broker-drift',
      'fence-broker-presign',
    ]);
    for (const output of [
      'VaultPresignBoundRoleArn',
      'VaultAdminBoundRoleArn',
      'VaultDriftCheckBoundRoleArn',
    ]) {
      expect(template.Outputs[output]).toBeDefined();
    }
    const shipped = readdirSync(out)
      .filter((name) => name.startsWith('asset.'))
      .filter((dir) => readdirSync(join(out, dir)).includes('vault-ca.pem'));
    expect(shipped).toHaveLength(3);
  }, 300_000);
});
