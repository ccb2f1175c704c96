import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { DriftCheck } from '../shared/drift/drift-check';
import type { DriftReportStore } from '../shared/drift/drift-report-store';
import { type DriftReport, failuresByCheck } from '../shared/drift/drift-results';
import { DRIFT_METRICS } from './drift-metrics';

export interface ScheduledDriftCheck {
  drift: Pick<DriftCheck, 'run'>;
  reports: DriftReportStore;
  logger: Pick<Logger, 'info' | 'warn'>;
  metrics: Pick<Metrics, 'addMetric' | 'singleMetric'>;
  concurrency: number;
  checkTimeoutMs: number;
}

/** What the scheduled run answers (EventBridge ignores it; a manual invocation shows it). */
export interface DriftRunSummary {
  totals: DriftReport['totals'];
  report_keys: string[];
}

/**
 * One scheduled run: every record checked, the report stored, one log line per failing bucket
 * (its failing checks and their reasons), metrics per check and overall. Nothing written holds a
 * secret value: results name refs, fields and key hints only.
 */
export async function runScheduledDriftCheck(deps: ScheduledDriftCheck): Promise<DriftRunSummary> {
  const report = await deps.drift.run({ concurrency: deps.concurrency, checkTimeoutMs: deps.checkTimeoutMs });
  const keys = await deps.reports.save(report);
  for (const result of report.results) {
    if (result.status !== 'failed') continue;
    deps.logger.warn('drift', {
      bucket: result.bucket,
      bucket_id: result.id,
      failed: result.checks.filter((check) => !check.ok),
    });
  }
  deps.logger.info('drift check finished', {
    totals: report.totals,
    duration_ms: report.duration_ms,
    report_keys: keys,
  });
  publishDriftMetrics(deps.metrics, report);
  return { totals: report.totals, report_keys: keys };
}

/** Overall counts and the failures of each check (zeros too, so a graph shows a quiet night). */
export function publishDriftMetrics(metrics: ScheduledDriftCheck['metrics'], report: DriftReport): void {
  metrics.addMetric(DRIFT_METRICS.runs, MetricUnit.Count, 1);
  metrics.addMetric(DRIFT_METRICS.bucketsPassed, MetricUnit.Count, report.totals.passed);
  metrics.addMetric(DRIFT_METRICS.bucketsFailed, MetricUnit.Count, report.totals.failed);
  metrics.addMetric(DRIFT_METRICS.bucketsSuspended, MetricUnit.Count, report.totals.suspended);
  metrics.addMetric(DRIFT_METRICS.runDuration, MetricUnit.Milliseconds, report.duration_ms);
  for (const [check, failures] of Object.entries(failuresByCheck(report.results))) {
    const single = metrics.singleMetric();
    single.addDimension(DRIFT_METRICS.checkDimension, check);
    single.addMetric(DRIFT_METRICS.checkFailures, MetricUnit.Count, failures);
  }
}

/** The drift-check Lambda's middleware chain around `runScheduledDriftCheck`. */
export function createDriftHandler(deps: ScheduledDriftCheck & { logger: Logger; metrics: Metrics }) {
  return middy<unknown, DriftRunSummary, Error, Context>()
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics))
    .handler(() => runScheduledDriftCheck(deps));
}
