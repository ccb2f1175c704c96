import type { Logger } from '@aws-lambda-powertools/logger';
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
  /**
   * Built at the first unexpected error, not at cold start: requests that succeed or fail with
   * one of our errors write only their audit line, so most containers never load Powertools
   * Logger (~4 ms of module load, `npm run bench`).
   */
  logger: () => Promise<Logger>;
  /** Built at the first metrics publish, not at cold start. */
  metrics: () => Promise<Metrics>;
  auditSampleRate: number;
  /** See `presignTelemetry`. @default 0 (publish after every invocation) */
  metricsIntervalMs?: number;
}) {
  const { wiring, metrics } = options;
  const audit = new AuditLog(process.env.POWERTOOLS_SERVICE_NAME ?? 'fence-bucket-broker');
  const errorLog = lambdaContextLogger(options.logger);
  const telemetry = presignTelemetry({
    logger: errorLog,
    audit,
    metrics,
    secrets: wiring.secrets,
    lookup: wiring.lookup,
    roles: wiring.roles,
    sampleRate: options.auditSampleRate,
    metricsIntervalMs: options.metricsIntervalMs,
  });
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>().handler(
    async (event, context) => {
      errorLog.startInvocation(context);
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
      await Promise.all([errorLog.flush(), telemetry.endInvocation()]);
      return response;
    },
  );
}

/**
 * A Powertools Logger built on its first use and given each invocation's Lambda context, as
 * `injectLambdaContext` would (function name, ARN, memory, request id, cold start). The log
 * lines it owes an invocation are written before that invocation returns.
 */
function lambdaContextLogger(build: () => Promise<Logger>) {
  let logger: Promise<Logger> | undefined;
  let context: Context | undefined;
  let invocations = 0;
  let pending: Promise<void>[] = [];
  return {
    startInvocation(current: Context): void {
      context = current;
      invocations++;
    },
    error(message: string, error: Error): void {
      const current = context;
      const firstInvocation = invocations <= 1;
      logger ??= build().then((built) => {
        // A logger built after the first invocation would call its first context cold:
        // reading a context once spends its cold-start flag.
        if (!firstInvocation && current !== undefined) built.addContext(current);
        return built;
      });
      pending.push(
        logger.then((built) => {
          built.refreshSampleRateCalculation();
          if (current !== undefined) built.addContext(current);
          built.error(message, error);
        }),
      );
    },
    async flush(): Promise<void> {
      if (pending.length === 0) return;
      const writes = pending;
      pending = [];
      await Promise.all(writes);
    },
  };
}
