import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { AuditLog } from './audit-log';
import { presignDeadline } from './budgets';
import { handlePresignApi } from './presign-api';
import type { PresignWiring } from './presign-wiring';
import { presignTelemetry } from './telemetry';

/**
 * The presign Lambda's middleware chain around `handlePresignApi`. The Lambda entry builds it
 * from its environment; benchmarks and tests build the same chain over other wiring.
 */
export function createPresignHandler(options: {
  wiring: PresignWiring;
  logger: Logger;
  /** Built at the first metrics publish, not at cold start. */
  metrics: () => Promise<Metrics>;
  auditSampleRate: number;
  /** See `presignTelemetry`. @default 0 (publish after every invocation) */
  metricsIntervalMs?: number;
}) {
  const { wiring, logger, metrics } = options;
  const audit = new AuditLog(process.env.POWERTOOLS_SERVICE_NAME ?? 'fence-bucket-broker');
  const telemetry = presignTelemetry({
    logger,
    audit,
    metrics,
    secrets: wiring.secrets,
    lookup: wiring.lookup,
    roles: wiring.roles,
    sampleRate: options.auditSampleRate,
    metricsIntervalMs: options.metricsIntervalMs,
  });
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(injectLambdaContext(logger))
    .handler(async (event, context) => {
      audit.startInvocation(context.awsRequestId, process.env._X_AMZN_TRACE_ID);
      const invocation = {
        requestId: context.awsRequestId,
        deadline: presignDeadline(context.getRemainingTimeInMillis?.()),
      };
      const response = await handlePresignApi(event, invocation, {
        service: wiring.service,
        record: telemetry.record,
        unexpected: telemetry.unexpected,
      });
      await telemetry.endInvocation();
      return response;
    });
}
