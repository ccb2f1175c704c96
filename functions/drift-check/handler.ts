import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { readEnvironment } from '../shared/config/environment';
import { S3DriftReportStore } from '../shared/drift/drift-report-store';
import { ConfigurationError } from '../shared/errors';
import { createDriftHandler } from './drift-handler';
import { wireDriftCheck } from './drift-wiring';
import { DriftEnvironmentSchema } from './environment';

// Built once per container: a bad environment fails at cold start, not in the middle of a run.
const environment = readEnvironment(DriftEnvironmentSchema);
if (environment.DRIFT_REPORT_BUCKET === undefined) {
  throw new ConfigurationError('DRIFT_REPORT_BUCKET must name the report bucket');
}

/** Lambda entry of the scheduled drift check (EventBridge; the event carries nothing it reads). */
export const handler = createDriftHandler({
  drift: wireDriftCheck({
    ...environment,
    // In the Lambda, admin secrets are read only by the ARNs the deployment lists (none: none).
    FENCE_MINIO_ADMIN_SECRET_ARNS: environment.FENCE_MINIO_ADMIN_SECRET_ARNS ?? [],
  }),
  reports: new S3DriftReportStore(environment.DRIFT_REPORT_BUCKET),
  logger: new Logger(),
  metrics: new Metrics(),
  concurrency: environment.DRIFT_CONCURRENCY,
  checkTimeoutMs: environment.DRIFT_CHECK_TIMEOUT_SECONDS * 1000,
});
