// Three projects so each layer can run on its own; swc strips types (tsc --noEmit checks them
// as a separate step) and transforms middy, which ships ESM only.
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const transformIgnorePatterns = ['/node_modules/(?!(@middy)/)'];
const common = { testEnvironment: 'node', transform, transformIgnorePatterns };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // 30 s per test (a project's `testTimeout` is ignored by jest-circus): see the file.
      setupFilesAfterEnv: ['<rootDir>/test/integration/services/test-timeout.ts'],
      globalSetup: '<rootDir>/test/integration/services/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/services/global-teardown.ts',
      setupFiles: ['<rootDir>/test/integration/services/load-endpoints.ts'],
    },
  ],
};
