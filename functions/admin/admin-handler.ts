import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { BucketAdmin } from '../shared/admin/bucket-admin';
import { handleAdminApi } from './admin-api';

/**
 * The admin Lambda's middleware chain around `handleAdminApi`. Audit lines (one per action,
 * written by the core) and refusals go through Powertools Logger: the admin API is not a hot path.
 */
export function createAdminHandler(options: {
  admin: BucketAdmin;
  logger: Logger;
  allowedCallers: readonly string[];
}) {
  const { admin, logger, allowedCallers } = options;
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler((event, context) =>
      handleAdminApi(event, context.awsRequestId, {
        admin,
        allowedCallers,
        refused: (line) => logger.warn('admin caller refused', line),
        unexpected: (error) =>
          logger.error('admin request failed unexpectedly', {
            error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
          }),
      }),
    );
}
