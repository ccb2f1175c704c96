import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SecretResolvers } from '../shared/backends/backend-registry';
import type { ErrorCode } from '../shared/errors';
import type { CachedBucketLookup } from '../shared/registry/cached-bucket-lookup';
import type { AuditLog } from './audit-log';
import type { PresignAuditLine } from './presign-api';
import { PRESIGN_METRICS, presignErrorMetric } from './presign-metrics';

export interface PresignTelemetry {
  record(line: PresignAuditLine): void;
  unexpected(error: unknown): void;
  /** Ends an invocation: publishes metrics once `metricsIntervalMs` has passed since the last publish. */
  endInvocation(): Promise<void>;
}

/** EMF takes up to 100 values of one metric per blob, and Powertools flushes on the 100th: stay one below. */
const MAX_LATENCY_VALUES = 99;

/**
 * Audit lines and metrics of the presign API, shared by the Lambda handler and the local runner.
 * Counts and latencies are aggregated in process and handed to Powertools Metrics when they are
 * published: an EMF blob costs ~25 µs, more than a whole presign.
 */
export function presignTelemetry(options: {
  /** Receives errors that are not ours; nothing else is logged through it. */
  logger: Pick<Logger, 'error'>;
  audit: Pick<AuditLog, 'record'>;
  /**
   * Where metrics go. A factory, so Powertools Metrics is loaded at the first publish rather
   * than at cold start. @default no metrics
   */
  metrics?: () => Promise<Metrics>;
  secrets: SecretResolvers;
  lookup: CachedBucketLookup;
  /** Role mode's AssumeRole, for its call count. @default not counted */
  roles?: { readonly calls: number };
  /** Share of successful requests that get an audit line; failures always do. */
  sampleRate: number;
  /** Publish metrics at most this often; 0 publishes after every invocation. @default 0 */
  metricsIntervalMs?: number;
  clock?: () => number;
}): PresignTelemetry {
  const { logger, audit, metrics, secrets, lookup, roles, sampleRate } = options;
  const interval = options.metricsIntervalMs ?? 0;
  const clock = options.clock ?? Date.now;
  let lastPublish = clock();
  const counts = new Map<string, number>();
  // A uniform reservoir of at most 99 latencies per publish interval (EMF's per-blob limit).
  let latencies: number[] = [];
  let latencyCount = 0;
  let seen = {
    secretHits: 0,
    secretMisses: 0,
    secretLoads: 0,
    staleServes: 0,
    registryHits: 0,
    registryMisses: 0,
    assumeRoleCalls: 0,
  };

  let target:
    | Promise<{ metrics: Metrics; unit: typeof import('@aws-lambda-powertools/metrics').MetricUnit }>
    | undefined;
  const publish = async () => {
    if (metrics === undefined) return;
    lastPublish = clock();
    target ??= Promise.all([metrics(), import('@aws-lambda-powertools/metrics')]).then(
      ([instance, module]) => ({
        metrics: instance,
        unit: module.MetricUnit,
      }),
    );
    const { metrics: sink, unit: MetricUnit } = await target;
    for (const [name, value] of counts) sink.addMetric(name, MetricUnit.Count, value);
    counts.clear();
    for (const value of latencies) sink.addMetric(PRESIGN_METRICS.latency, MetricUnit.Milliseconds, value);
    latencies = [];
    latencyCount = 0;
    const cache = secrets.stats();
    const now = {
      secretHits: cache.hits,
      secretMisses: cache.misses,
      secretLoads: cache.loads,
      staleServes: cache.staleServes,
      registryHits: lookup.counters.hits,
      registryMisses: lookup.counters.misses,
      assumeRoleCalls: roles?.calls ?? 0,
    };
    const delta = (name: string, key: keyof typeof now) =>
      sink.addMetric(name, MetricUnit.Count, now[key] - seen[key]);
    delta(PRESIGN_METRICS.secretCacheHits, 'secretHits');
    delta(PRESIGN_METRICS.secretCacheMisses, 'secretMisses');
    delta(PRESIGN_METRICS.secretLoads, 'secretLoads');
    delta(PRESIGN_METRICS.secretStaleServes, 'staleServes');
    delta(PRESIGN_METRICS.registryCacheHits, 'registryHits');
    delta(PRESIGN_METRICS.registryCacheMisses, 'registryMisses');
    if (roles !== undefined) delta(PRESIGN_METRICS.assumeRoleCalls, 'assumeRoleCalls');
    seen = now;
    sink.publishStoredMetrics();
  };

  return {
    record(line) {
      const name =
        line.outcome === 'ok' ? PRESIGN_METRICS.presigned : presignErrorMetric(line.outcome as ErrorCode);
      counts.set(name, (counts.get(name) ?? 0) + (line.items ?? 1));
      latencyCount++;
      if (latencies.length < MAX_LATENCY_VALUES) latencies.push(line.latency_ms);
      else {
        const slot = Math.floor(Math.random() * latencyCount);
        if (slot < MAX_LATENCY_VALUES) latencies[slot] = line.latency_ms;
      }
      if (line.outcome !== 'ok' || sampleRate >= 1 || Math.random() < sampleRate) audit.record(line);
    },
    unexpected(error) {
      logger.error('unexpected error', error as Error);
    },
    async endInvocation() {
      if (metrics !== undefined && clock() - lastPublish >= interval) await publish();
    },
  };
}
