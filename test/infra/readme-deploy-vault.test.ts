import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readmeBlock } from '../integration/support/readme';

const run = promisify(execFile);
const REPO = join(__dirname, '../..');
const VAULT_CA = join(__dirname, 'fixtures/vault-ca.pem');

describe('README: Vault from Lambda', () => {
  it('synthesizes offline with the context shown: Vault AWS auth in the three functions, the CA in their bundles, the roles to bind as an output', async () => {
    // Prepare: the README's deploy command as a synth into this test's directory, with the
    // fixture standing in for the reader's vault-ca.pem
    const out = mkdtempSync(join(tmpdir(), 'fbb-readme-vault-'));
    const command = readmeBlock('### Vault from Lambda')
      .replace('npx cdk deploy', `npx cdk synth -q -o ${out}`)
      .replace('vaultCaCertFile=vault-ca.pem', `vaultCaCertFile=${VAULT_CA}`);

    // Act
    await run('bash', ['-euo', 'pipefail', '-c', command], {
      cwd: REPO,
      encoding: 'utf8',
      // Offline: no AWS credentials or account.
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });

    // Assess
    const template = JSON.parse(readFileSync(join(out, 'FenceBucketBroker.template.json'), 'utf8'));
    const functions = Object.values(
      template.Resources as Record<
        string,
        { Type: string; Properties: { Environment?: { Variables?: Record<string, string> } } }
      >,
    ).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    const vault = functions.filter(
      (fn) => fn.Properties.Environment?.Variables?.FENCE_SECRETS_BACKEND === 'aws_sm,vault',
    );
    expect(vault).toHaveLength(3);
    for (const fn of vault) {
      expect(fn.Properties.Environment?.Variables).toMatchObject({
        VAULT_ADDR: 'https://vault.example.org:8200',
        VAULT_AUTH_METHOD: 'aws',
        VAULT_ROLE: 'fence-bucket-broker',
        VAULT_AWS_IAM_SERVER_ID: 'vault.example.org',
        VAULT_CACERT: '/var/task/vault-ca.pem',
      });
    }
    expect(template.Outputs.VaultBoundRoleArns).toBeDefined();
    const shipped = readdirSync(out)
      .filter((name) => name.startsWith('asset.'))
      .filter((dir) => readdirSync(join(out, dir)).includes('vault-ca.pem'));
    expect(shipped).toHaveLength(3);
  }, 300_000);
});
