import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CachedBucketLookup } from '../shared/registry/cached-bucket-lookup';
import type { SecretResolvers } from '../shared/secrets/secret-resolvers';
import type { PresignAuditLine } from './presign-api';

export interface PresignTelemetry {
  record(line: PresignAuditLine): void;
  unexpected(error: unknown): void;
  /** Publishes what the caches did since the last call. */
  flushCacheCounters(): void;
}

/**
 * Audit lines and metrics of the presign API, shared by the Lambda handler and the local runner.
 * Successful requests may be sampled; failures are always logged.
 */
export function presignTelemetry(options: {
  logger: Logger;
  metrics?: Metrics;
  secrets: SecretResolvers;
  lookup: CachedBucketLookup;
  sampleRate: number;
}): PresignTelemetry {
  const { logger, metrics, secrets, lookup, sampleRate } = options;
  let seen = { secretHits: 0, secretMisses: 0, staleServes: 0, registryHits: 0, registryMisses: 0 };
  return {
    record(line) {
      metrics?.addMetric(
        line.outcome === 'ok' ? 'PresignCount' : `Error_${line.outcome}`,
        MetricUnit.Count,
        line.items ?? 1,
      );
      metrics?.addMetric('PresignLatency', MetricUnit.Milliseconds, line.latency_ms);
      if (line.outcome !== 'ok' || Math.random() < sampleRate) logger.info('presign', { ...line });
    },
    unexpected(error) {
      logger.error('unexpected error', error as Error);
    },
    flushCacheCounters() {
      if (metrics === undefined) return;
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
    },
  };
}
