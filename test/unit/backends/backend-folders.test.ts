import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ADMINISTRATION_FACTORIES } from '../../../functions/shared/backends/admin-backend-registry';
import { RESOLVER_FACTORIES } from '../../../functions/shared/backends/backend-registry';
import { SecretsEnvironmentSchema } from '../../../functions/shared/backends/secrets-environment';
import { SECRETS_BACKENDS } from '../../../functions/shared/secrets/backend-names';
import { COMMON_SECRETS_ENVIRONMENT } from '../../../functions/shared/secrets/secrets-backend';

const backendsDir = join(__dirname, '../../../functions/shared/backends');
const folders = readdirSync(backendsDir).filter((name) => statSync(join(backendsDir, name)).isDirectory());

interface BackendFolder {
  environment: Record<string, unknown>;
  createResolver: unknown;
  createAdministration: unknown;
}

function load(folder: string): BackendFolder {
  const read = require(join(backendsDir, folder, 'backend.ts')) as Record<string, unknown>;
  const admin = require(join(backendsDir, folder, 'admin-backend.ts')) as Record<string, unknown>;
  return {
    environment: read.environment as Record<string, unknown>,
    createResolver: read.createResolver,
    createAdministration: admin.createAdministration,
  };
}

describe('Backends: one folder per secrets backend', () => {
  it('has a folder for each backend name and a name for each folder', () => {
    expect(folders.sort()).toEqual(['aws-secrets-manager', 'gcp', 'kubernetes', 'vault']);
    expect(folders).toHaveLength(SECRETS_BACKENDS.length);
  });

  it.each(folders)('%s has the parts every backend has, each registered once under one name', (folder) => {
    // Prepare
    const parts = load(folder);

    // Act
    const readName = SECRETS_BACKENDS.filter((name) => RESOLVER_FACTORIES[name] === parts.createResolver);
    const adminName = SECRETS_BACKENDS.filter(
      (name) => ADMINISTRATION_FACTORIES[name] === parts.createAdministration,
    );

    // Assess
    expect(typeof parts.createResolver).toBe('function');
    expect(typeof parts.createAdministration).toBe('function');
    expect(typeof parts.environment).toBe('object');
    expect(readName).toHaveLength(1);
    expect(adminName).toEqual(readName);
  });

  it('composes the secrets environment from the common settings and every folder’s variables, none twice', () => {
    // Prepare
    const declared = [
      ...Object.keys(COMMON_SECRETS_ENVIRONMENT),
      ...folders.flatMap((folder) => Object.keys(load(folder).environment)),
    ];

    // Act
    const composed = Object.keys(SecretsEnvironmentSchema.shape);

    // Assess
    expect(new Set(declared).size).toBe(declared.length);
    expect(composed.sort()).toEqual(declared.sort());
  });
});
