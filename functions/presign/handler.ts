import { readEnvironment } from '../shared/config/environment';
import { PresignEnvironmentSchema } from './environment';
import { createPresignHandler } from './presign-handler';
import { wirePresignService } from './presign-wiring';

// Built once per container, at cold start: a bad environment fails here, not on a request.
const environment = readEnvironment(PresignEnvironmentSchema);

/** Lambda entry of the presign API. */
export const handler = createPresignHandler({
  wiring: wirePresignService(environment),
  logger: async () => new (await import('@aws-lambda-powertools/logger')).Logger(),
  metrics: async () => new (await import('@aws-lambda-powertools/metrics')).Metrics(),
  auditSampleRate: environment.AUDIT_SAMPLE_RATE,
  metricsIntervalMs: environment.METRICS_PUBLISH_INTERVAL_SECONDS * 1000,
});
