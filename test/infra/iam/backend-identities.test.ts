import {
  GOOGLE_SECRET_MANAGER_PERMISSIONS,
  SECRET_MANAGER_WRITE_PERMISSIONS,
  SECRETS_FUNCTIONS,
  type SecretsFunction,
  VAULT_POLICIES,
  VAULT_WRITE_CAPABILITIES,
  vaultPolicyHcl,
} from '../../../lib/iam/backend-identities';
import { docBlock } from '../../integration/support/doc-block';
import { docSection } from '../../integration/support/readme';

/** Each function's policy file, in the order docs/secrets-backends.md's "Vault backend" shows them. */
const POLICY_INDEX: Record<SecretsFunction, number> = { presign: 0, admin: 1, drift: 2 };

/** `secretmanager.a.{b,c}` → `secretmanager.a.b`, `secretmanager.a.c`. */
function expand(token: string): string[] {
  const braces = /^(.*)\{([^}]+)\}(.*)$/.exec(token);
  if (braces === null) return [token];
  const [, head = '', alternatives = '', tail = ''] = braces;
  return alternatives.split(',').map((alternative) => `${head}${alternative}${tail}`);
}

/** The Secret Manager permissions docs/deploying.md's "GCP from Lambda" table grants the function's service account. */
function documentedGrants(fn: SecretsFunction): string[] {
  const row = docSection('docs/deploying.md', '## GCP from Lambda')
    .split('\n')
    .find((line) => line.startsWith(`| ${fn} |`));
  if (row === undefined) throw new Error(`the GCP table of docs/deploying.md has no row for ${fn}`);
  const secretsCell = row.split('|')[2] ?? '';
  return [...secretsCell.matchAll(/`(secretmanager\.[^`]+)`/g)].flatMap(([, token]) => expand(String(token)));
}

describe('Matrix: each function its own identity on Vault and Google', () => {
  it.each(SECRETS_FUNCTIONS)("docs show %s's Vault policy exactly as the matrix renders it", (fn) => {
    expect(docBlock('docs/secrets-backends.md', '## Vault backend', 'hcl', POLICY_INDEX[fn])).toBe(
      vaultPolicyHcl(fn),
    );
  });

  it("docs bind each function's Vault role to its own policy", () => {
    const commands = docBlock('docs/secrets-backends.md', '## Vault backend', 'bash', 1);
    for (const fn of SECRETS_FUNCTIONS) {
      expect(commands).toMatch(
        new RegExp(
          `auth/aws/role/fence-broker-${fn} auth_type=iam \\\\\\n[^\\n]*\\n\\s+token_policies=${VAULT_POLICIES[fn].name} `,
        ),
      );
    }
  });

  it('denies presign and the drift check every Vault write capability, and every function the admin/ sub-path', () => {
    for (const fn of ['presign', 'drift'] as const) {
      const granted = VAULT_POLICIES[fn].rules.flatMap((rule) => rule.capabilities);
      expect(granted.filter((capability) => VAULT_WRITE_CAPABILITIES.includes(capability))).toEqual([]);
    }
    expect(VAULT_POLICIES.admin.rules.flatMap((rule) => rule.capabilities)).toEqual(
      expect.arrayContaining(['create', 'update']),
    );
    for (const fn of SECRETS_FUNCTIONS) {
      const rules = VAULT_POLICIES[fn].rules;
      const kinds = new Set(
        rules.filter((rule) => !rule.capabilities.includes('deny')).map((rule) => rule.path.split('/')[0]),
      );
      for (const kind of kinds) {
        expect(rules).toContainEqual({ path: `${kind}/{prefix}admin/*`, capabilities: ['deny'] });
      }
    }
  });

  it.each(SECRETS_FUNCTIONS)(
    "docs grant %s's service account exactly the matrix's Secret Manager permissions",
    (fn) => {
      expect(documentedGrants(fn).sort()).toEqual([...GOOGLE_SECRET_MANAGER_PERMISSIONS[fn]].sort());
    },
  );

  it('gives no write permission to the presign or drift service account, and the writes to the admin one', () => {
    for (const fn of ['presign', 'drift'] as const) {
      expect(
        GOOGLE_SECRET_MANAGER_PERMISSIONS[fn].filter((permission) =>
          SECRET_MANAGER_WRITE_PERMISSIONS.includes(permission),
        ),
      ).toEqual([]);
    }
    expect(GOOGLE_SECRET_MANAGER_PERMISSIONS.admin).toEqual(
      expect.arrayContaining([...SECRET_MANAGER_WRITE_PERMISSIONS]),
    );
  });
});
