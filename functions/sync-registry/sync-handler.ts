import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import secretsManager from '@middy/secrets-manager';
import type { Context } from 'aws-lambda';
import { StoreEndpointPolicy } from '../shared/network/store-endpoint-policy';
import { fenceDbConnectionFromSecret } from '../shared/registry/fence-db-connection';
import { recordPolicyFrom } from '../shared/registry/record-policy';
import { DELETE_CAP_EXCEEDED, type SyncReport } from '../shared/registry/registry-sync';
import type { SyncEnvironment } from './environment';
import { SYNC_METRICS } from './sync-metrics';
import { runRegistrySync } from './sync-wiring';

/** What one scheduled sync returns (and logs): the counts, never a record or a secret. */
export type SyncSummary = Omit<SyncReport, 'changes' | 'failures'>;

/** Failures named in the log line, at most. */
const LOGGED_FAILURES = 50;

/**
 * The sync Lambda's middleware chain around `runRegistrySync`: the database connection comes
 * from its secret through `@middy/secrets-manager` (fetched at cold start, refreshed every five
 * minutes), and each run publishes its counts as metrics. A run that cannot reach Fence DB or
 * the table fails (Lambda's Errors metric); records that fail one by one are counted and named
 * in the log, and the run succeeds.
 */
export function createSyncHandler(options: {
  environment: SyncEnvironment;
  logger: Logger;
  metrics: Metrics;
}): MiddyfiedHandler<unknown, SyncSummary, Error, Context> {
  const { environment, logger, metrics } = options;
  const handler = middy<unknown, SyncSummary, Error, Context & { fenceDb?: unknown }>()
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .use(
      secretsManager({
        fetchData: { fenceDb: environment.FENCE_DB_SECRET_ARN },
        setToContext: true,
        cacheKey: `fence-db-connection:${environment.FENCE_DB_SECRET_ARN}`,
        cacheExpiry: 0,
        disablePrefetch: true,
      }),
    )
    .handler(async (_event, context) => {
      let report: SyncReport;
      try {
        const connection = fenceDbConnectionFromSecret(context.fenceDb, environment.FENCE_DB_SSL);
        report = await runRegistrySync(
          { connection, tableName: environment.REGISTRY_TABLE_NAME },
          {
            concurrency: environment.SYNC_CONCURRENCY,
            policy: {
              ...recordPolicyFrom(environment),
              endpoints: StoreEndpointPolicy.fromEnvironment(environment),
            },
            deleteCap: {
              fraction: environment.SYNC_MAX_DELETE_FRACTION,
              floor: environment.SYNC_MAX_DELETES_FLOOR,
            },
          },
        );
      } catch (error) {
        metrics.addMetric(SYNC_METRICS.runFailed, MetricUnit.Count, 1);
        logger.error('registry sync failed', {
          error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
        });
        throw error;
      }
      const { changes: _changes, failures, ...summary } = report;
      metrics.addMetric(SYNC_METRICS.inserted, MetricUnit.Count, summary.inserted);
      metrics.addMetric(SYNC_METRICS.updated, MetricUnit.Count, summary.updated);
      metrics.addMetric(SYNC_METRICS.deleted, MetricUnit.Count, summary.deleted);
      metrics.addMetric(SYNC_METRICS.failed, MetricUnit.Count, summary.failed);
      metrics.addMetric(
        SYNC_METRICS.policyRefused,
        MetricUnit.Count,
        failures.filter((failure) => failure.action === 'policy').length,
      );
      metrics.addMetric(
        SYNC_METRICS.deletesHeldBack,
        MetricUnit.Count,
        failures.filter((failure) => failure.code === DELETE_CAP_EXCEEDED).length,
      );
      const line = { ...summary, failures: failures.slice(0, LOGGED_FAILURES) };
      if (summary.failed > 0) logger.warn('registry sync', line);
      else logger.info('registry sync', line);
      return summary;
    });
  // The middleware adds `fenceDb` to the context itself; the runtime passes a plain Context.
  return handler as unknown as MiddyfiedHandler<unknown, SyncSummary, Error, Context>;
}
