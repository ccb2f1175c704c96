import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import secretsManager from '@middy/secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { PoolConfig } from 'pg';
import type { BucketAdmin } from '../shared/admin/bucket-admin';
import { type FenceDbSslMode, fenceDbConnectionFromSecret } from '../shared/registry/fence-db-connection';
import { handleAdminApi } from './admin-api';

/** Fence DB's connection secret, when Fence DB is the registry of record. */
export interface AdminFenceDb {
  secretArn: string;
  ssl: FenceDbSslMode;
}

/**
 * The admin Lambda's middleware chain around `handleAdminApi`. Audit lines (one per action,
 * written by the core) and refusals go through Powertools Logger: the admin API is not a hot
 * path. With Fence DB as the registry of record, its connection comes from its secret through
 * `@middy/secrets-manager` (DESIGN.md: the package's place), read on each invocation (admin calls
 * are rare; a rotated database password is picked up at once), and the core is built for it.
 *
 * The caller check (`handleAdminApi`) trusts what the event says, as any Lambda must: API Gateway
 * writes it after IAM authorization and its resource policy. A direct `lambda:InvokeFunction`
 * bypasses both, and the route check, with an event of the invoker's making; events that are not
 * shaped as API Gateway's IAM-authorized ones are refused (`isIamApiGatewayRequest`), forged ones
 * cannot be told apart, so no principal but API Gateway may hold that permission.
 */
export function createAdminHandler(options: {
  /** The admin core, for Fence DB's connection when there is one. */
  admin: (fenceDb: PoolConfig | undefined) => BucketAdmin;
  logger: Logger;
  allowedCallers: readonly string[];
  fenceDb?: AdminFenceDb;
}) {
  const { logger, allowedCallers, fenceDb } = options;
  let built: { key: string; admin: BucketAdmin } | undefined;
  const adminFor = (connection: PoolConfig | undefined): BucketAdmin => {
    // One core (and one connection pool) per connection setting: a new password, a new pool.
    const key = JSON.stringify(connection ?? null);
    if (built?.key !== key) built = { key, admin: options.admin(connection) };
    return built.admin;
  };
  const chain = middy<
    APIGatewayProxyEvent,
    APIGatewayProxyResult,
    Error,
    Context & { fenceDb?: unknown }
  >().use(injectLambdaContext(logger));
  if (fenceDb !== undefined) {
    chain.use(
      secretsManager({
        fetchData: { fenceDb: fenceDb.secretArn },
        setToContext: true,
        cacheExpiry: 0,
        disablePrefetch: true,
      }),
    );
  }
  return chain.handler((event, context) =>
    handleAdminApi(event, context.awsRequestId, {
      admin: adminFor(
        fenceDb === undefined ? undefined : fenceDbConnectionFromSecret(context.fenceDb, fenceDb.ssl),
      ),
      allowedCallers,
      refused: (line) => logger.warn('admin caller refused', line),
      unexpected: (error) =>
        logger.error('admin request failed unexpectedly', {
          error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
        }),
    }),
  );
}
