// `npm run test:fence` (clients/python/fence-patch/run-fence-tests.sh): Gen3 Fence itself, built
// by that script at the pinned release with our patch, against the integration harness's real
// services. Kept out of `npm test` (jest.config.js): it needs Fence's venv, which the script builds.
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };

/** @type {import('jest').Config} */
module.exports = {
  displayName: 'fence',
  testEnvironment: '<rootDir>/test/integration/services/aws-emulator-environment.ts',
  transform,
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  modulePathIgnorePatterns: ['<rootDir>/clients/'],
  testMatch: ['<rootDir>/test/fence/**/*.test.ts'],
  setupFiles: ['<rootDir>/test/support/store-endpoints.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/integration/services/test-timeout.ts'],
  globalSetup: '<rootDir>/test/integration/services/global-setup.ts',
  globalTeardown: '<rootDir>/test/integration/services/global-teardown.ts',
  // Fence's own suite and the Fence processes are heavy: one file at a time on 2 CPUs.
  maxWorkers: 1,
};
