import { Logger } from '@aws-lambda-powertools/logger';
import { readEnvironment } from '../shared/config/environment';
import { ConfigurationError } from '../shared/errors';
import { createAdminHandler } from './admin-handler';
import { wireBucketAdmin } from './admin-wiring';
import { AdminEnvironmentSchema } from './environment';

// Built once per container: a bad environment fails at cold start, not on a request.
const environment = readEnvironment(AdminEnvironmentSchema);
if (environment.ADMIN_PRINCIPAL_ARNS === undefined) {
  throw new ConfigurationError('ADMIN_PRINCIPAL_ARNS must name the admin principals');
}
if (environment.REGISTRY_SOURCE === 'postgres' && environment.FENCE_DB_SECRET_ARN === undefined) {
  throw new ConfigurationError('REGISTRY_SOURCE=postgres needs FENCE_DB_SECRET_ARN in the admin Lambda');
}
const logger = new Logger();

/** Lambda entry of the admin API. */
export const handler = createAdminHandler({
  admin: (fenceDb) =>
    wireBucketAdmin(environment, {
      audit: (line) => logger.info('admin', { ...line }),
      warn: (message, details) => logger.warn(message, details),
      ...(fenceDb === undefined ? {} : { fenceDb }),
    }),
  logger,
  allowedCallers: environment.ADMIN_PRINCIPAL_ARNS,
  ...(environment.REGISTRY_SOURCE === 'postgres' && environment.FENCE_DB_SECRET_ARN !== undefined
    ? { fenceDb: { secretArn: environment.FENCE_DB_SECRET_ARN, ssl: environment.FENCE_DB_SSL } }
    : {}),
});
