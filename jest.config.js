// Three projects so each layer can run on its own; swc strips types (tsc --noEmit checks them
// as a separate step) and transforms middy, which ships ESM only.
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const transformIgnorePatterns = ['/node_modules/(?!(@middy)/)'];
// The Python client (its venv and caches) is none of jest's business: not crawled, not resolved.
const modulePathIgnorePatterns = ['<rootDir>/clients/'];
const common = { testEnvironment: 'node', transform, transformIgnorePatterns, modulePathIgnorePatterns };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // Real servers on a shared, possibly loaded CI runner: jest's 5 s default fails tests that
      // are merely slow. Tests known to be long set their own, larger timeout.
      testTimeout: 30_000,
      globalSetup: '<rootDir>/test/integration/services/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/services/global-teardown.ts',
      setupFiles: ['<rootDir>/test/integration/services/load-endpoints.ts'],
    },
  ],
};
