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
import { docBlock } from '../../support/doc-block';
import { VaultRoot } from '../../support/vault';

describe('docs/secrets-backends.md: Vault backend', () => {
  it('sets up AppRole with the policy as shown, and the broker reads with it but never under admin/', async () => {
    // Prepare: the policy file and the commands exactly as the page shows them.
    const root = VaultRoot.ofRun();
    const directory = mkdtempSync(join(tmpdir(), 'fbb-readme-vault-'));
    writeFileSync(
      join(directory, 'fence-broker-read.hcl'),
      docBlock('docs/secrets-backends.md', '## Vault backend', 'hcl'),
    );
    const bucket = uniqueName('readme');
    await root.writeSecret(`gen3/fence/minio/${bucket}`, {
      access_key_id: 'readme-key',
      secret_access_key: 's',
    });
    await root.writeSecret(`gen3/fence/admin/minio/${bucket}`, {
      access_key_id: 'admin',
      secret_access_key: 's',
    });

    // Act
    execFileSync(
      'bash',
      ['-euo', 'pipefail', '-c', docBlock('docs/secrets-backends.md', '## Vault backend')],
      {
        cwd: directory,
        env: {
          PATH: `${dirname(openBaoBinary())}:${process.env.PATH}`,
          HOME: directory,
          BAO_ADDR: root.address,
          BAO_TOKEN: root.rootToken,
        },
        stdio: 'pipe',
      },
    );
    const resolver = VaultResolver.fromSettings(
      readVaultSettings(
        readEnvironment(SecretsEnvironmentSchema, {
          FENCE_SECRETS_BACKEND: 'vault',
          VAULT_ADDR: root.address,
          VAULT_AUTH_METHOD: 'approle',
          VAULT_ROLE_ID_FILE: join(directory, 'role-id'),
          VAULT_SECRET_ID_FILE: join(directory, 'secret-id'),
        }),
      ),
    );
    const read = await resolver.get(`secret/gen3/fence/minio/${bucket}`);
    const admin = await resolver.get(`secret/gen3/fence/admin/minio/${bucket}`).then(
      () => undefined,
      (error: Error) => error,
    );

    // Assess
    expect(read.access_key_id).toBe('readme-key');
    expect(admin).toBeInstanceOf(BucketMisconfiguredError);
    expect(admin?.message).toMatch(/denied by Vault's policy/);
  }, 60_000);
});
