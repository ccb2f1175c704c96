// `npm run test:deployed`: what `cdk synth` produces, run as deployed. The bundles in the
// synthesized assembly execute in Lambda runtime containers (Docker), wired by the template:
// API Gateway's routes, Secrets Manager's rotation, EventBridge's schedules. Kept out of
// `npm test` (jest.config.js): it needs Docker and builds images the first time.
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };

/** @type {import('jest').Config} */
module.exports = {
  displayName: 'deployed',
  testEnvironment: '<rootDir>/test/integration/services/aws-emulator-environment.ts',
  transform,
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  modulePathIgnorePatterns: ['<rootDir>/clients/'],
  testMatch: ['<rootDir>/test/deployed/**/*.test.ts'],
  // The CLI and helpers that run in the test process call stores on loopback over http.
  setupFiles: ['<rootDir>/test/support/store-endpoints.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/deployed/services/test-timeout.ts'],
  globalSetup: '<rootDir>/test/deployed/services/global-setup.ts',
  globalTeardown: '<rootDir>/test/deployed/services/global-teardown.ts',
  // One Docker daemon and one moto for the run; containers of one file at a time.
  maxWorkers: 1,
};
