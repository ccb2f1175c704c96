import { readEndpoints } from './endpoints';

/**
 * Runs in every integration test worker before its tests: points the AWS SDK at the run's
 * emulator through the SDK's own variables, so code under test needs no test-only wiring.
 * Credentials are dummies unless the environment already has some.
 */
const endpoints = readEndpoints();
process.env.AWS_ENDPOINT_URL = endpoints.awsEndpoint;
process.env.AWS_REGION = endpoints.awsRegion;
process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
delete process.env.AWS_PROFILE;
