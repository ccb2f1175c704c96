import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { TestEnvironment } from 'jest-environment-node';
import { awsEndpointVariables, keepsOnMoto, SECRETS_MANAGER_ON_MOTO, STS_ON_MOTO } from './aws-routes';
import { readEndpoints } from './endpoints';

/**
 * The integration tests' environment: before a test file loads anything, points the AWS SDK at
 * the run's emulators through the SDK's own variables, so code under test needs no test-only
 * wiring (and handlers that build clients at module load get the same endpoints). A file whose
 * docblock has `@secrets-manager-on-moto <why>` (or `@sts-on-moto <why>`) keeps that service on
 * moto in the LocalStack run. Credentials are dummies unless the environment has some.
 */
export default class AwsEmulatorEnvironment extends TestEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    const secretsManagerOnMoto = keepsOnMoto(
      SECRETS_MANAGER_ON_MOTO,
      context.docblockPragmas,
      context.testPath,
    );
    const stsOnMoto = keepsOnMoto(STS_ON_MOTO, context.docblockPragmas, context.testPath);
    const endpoints = readEndpoints();
    const env = this.global.process.env;
    Object.assign(env, awsEndpointVariables(endpoints.aws, { secretsManagerOnMoto, stsOnMoto }));
    env.AWS_REGION = endpoints.aws.region;
    env.AWS_ACCESS_KEY_ID ??= 'testing';
    env.AWS_SECRET_ACCESS_KEY ??= 'testing';
    delete env.AWS_PROFILE;
  }
}
