import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { readEnvironment } from '../shared/config/environment';
import { PresignEnvironmentSchema } from './environment';
import { handlePresignApi } from './presign-api';
import { wirePresignService } from './presign-wiring';
import { presignTelemetry } from './telemetry';

// Built once per container, at cold start: a bad environment fails here, not on a request.
const environment = readEnvironment(PresignEnvironmentSchema);
const logger = new Logger();
const metrics = new Metrics();
const { service, secrets, lookup } = wirePresignService(environment);
const telemetry = presignTelemetry({
  logger,
  metrics,
  secrets,
  lookup,
  sampleRate: environment.AUDIT_SAMPLE_RATE,
});

/** Lambda entry: the thin layer over `handlePresignApi`. */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(async (event, context) => {
    const response = await handlePresignApi(event, context.awsRequestId, {
      service,
      record: telemetry.record,
      unexpected: telemetry.unexpected,
    });
    telemetry.flushCacheCounters();
    return response;
  });
