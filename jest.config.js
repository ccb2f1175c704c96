// One project per layer so each can run on its own; swc strips types (tsc --noEmit checks them
// as a separate step) and transforms middy, which ships ESM only.
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const transformIgnorePatterns = ['/node_modules/(?!(@middy)/)'];
// The Python client (its venv and caches) is none of jest's business: not crawled, not resolved.
const modulePathIgnorePatterns = ['<rootDir>/clients/'];
// Every project: stores in tests listen on loopback over http (test/support/store-endpoints.ts).
const setupFiles = ['<rootDir>/test/support/store-endpoints.ts'];
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns,
  modulePathIgnorePatterns,
  setupFiles,
};
// `npm run test:localstack` sets FBB_AWS_EMULATOR=localstack: the integration tests run again with
// LocalStack serving Secrets Manager, STS and S3, plus the `*.localstack.test.ts` files, which
// test what only LocalStack has (its S3 checking URLs signed by its STS, its own departures from
// AWS). They have nothing to run against in the moto run.
const localstackRun = process.env.FBB_AWS_EMULATOR === 'localstack';

/** @type {import('jest').Config} */
module.exports = {
  // Under CI, fails a run on another Node major than the Lambda runtime's (test/support/lambda-node.ts).
  globalSetup: '<rootDir>/test/support/lambda-node.ts',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    // The documentation site: built with VitePress, then read as a reader's browser gets it.
    { ...common, displayName: 'docs', testMatch: ['<rootDir>/test/docs/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...(localstackRun ? [] : ['\\.localstack\\.test\\.ts$'])],
      // 30 s per test (a project's `testTimeout` is ignored by jest-circus): see the file.
      setupFilesAfterEnv: ['<rootDir>/test/integration/services/test-timeout.ts'],
      globalSetup: '<rootDir>/test/integration/services/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/services/global-teardown.ts',
      // Points the AWS SDK at the run's emulators (moto, or LocalStack too) for each test file.
      testEnvironment: '<rootDir>/test/integration/services/aws-emulator-environment.ts',
    },
  ],
};
