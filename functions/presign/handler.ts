import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { readEnvironment } from '../shared/config/environment';
import { PresignEnvironmentSchema } from './environment';
import { handlePresignApi, type PresignAuditLine } from './presign-api';
import { wirePresignService } from './presign-wiring';

const environment = readEnvironment(PresignEnvironmentSchema);
const logger = new Logger();
const metrics = new Metrics();
const { service, secrets, lookup } = wirePresignService(environment);

function record(line: PresignAuditLine): void {
  metrics.addMetric(
    line.outcome === 'ok' ? 'PresignCount' : `Error_${line.outcome}`,
    MetricUnit.Count,
    line.items ?? 1,
  );
  metrics.addMetric('PresignLatency', MetricUnit.Milliseconds, line.latency_ms);
  // Audit lines of successes may be sampled; failures are always kept.
  if (line.outcome !== 'ok' || Math.random() < environment.AUDIT_SAMPLE_RATE)
    logger.info('presign', { ...line });
}

// The caches count since cold start; metrics get what changed during this invocation.
let seen = { secretHits: 0, secretMisses: 0, staleServes: 0, registryHits: 0, registryMisses: 0 };
function recordCacheDeltas(): void {
  const cache = secrets.stats();
  const now = {
    secretHits: cache.hits,
    secretMisses: cache.misses,
    staleServes: cache.staleServes,
    registryHits: lookup.counters.hits,
    registryMisses: lookup.counters.misses,
  };
  metrics.addMetric('SecretCacheHits', MetricUnit.Count, now.secretHits - seen.secretHits);
  metrics.addMetric('SecretCacheMisses', MetricUnit.Count, now.secretMisses - seen.secretMisses);
  metrics.addMetric('SecretStaleServes', MetricUnit.Count, now.staleServes - seen.staleServes);
  metrics.addMetric('RegistryCacheHits', MetricUnit.Count, now.registryHits - seen.registryHits);
  metrics.addMetric('RegistryCacheMisses', MetricUnit.Count, now.registryMisses - seen.registryMisses);
  seen = now;
}

/** Lambda entry: the thin layer over `handlePresignApi`. */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(async (event, context) => {
    const response = await handlePresignApi(event, context.awsRequestId, {
      service,
      record,
      unexpected: (error) => logger.error('unexpected error', error as Error),
    });
    recordCacheDeltas();
    return response;
  });
