import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { AwsSecretsManagerResolver } from '../shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { readEnvironment } from '../shared/config/environment';
import { MinioAdminClient } from '../shared/minio/minio-admin-client';
import { StoreEndpointPolicy } from '../shared/network/store-endpoint-policy';
import { probeMinioBucket } from '../shared/rotation/minio-bucket-probe';
import { MinioKeyRotation } from '../shared/rotation/minio-key-rotation';
import { ReaderRetirementGrace } from '../shared/rotation/retirement-grace';
import { RotationRetirementError } from '../shared/rotation/rotation-errors';
import { RotationStore } from '../shared/rotation/rotation-store';
import { DynamoDbSecretUrlLifetimes } from '../shared/rotation/secret-url-lifetimes';
import { RotationEnvironmentSchema } from './environment';
import { ROTATION_METRICS } from './rotation-metrics';

const environment = readEnvironment(RotationEnvironmentSchema);
const logger = new Logger();
const metrics = new Metrics();
const storeEndpoints = StoreEndpointPolicy.fromEnvironment(environment);
const rotation = new MinioKeyRotation({
  store: new RotationStore(new SecretsManagerClient({})),
  adminSecrets: new AwsSecretsManagerResolver(),
  adminClient: (connection) => new MinioAdminClient(connection, storeEndpoints),
  probe: (secret) => probeMinioBucket(secret, storeEndpoints),
  grace: new ReaderRetirementGrace({
    cacheTtlSeconds: environment.FENCE_SECRET_CACHE_TTL_SECONDS,
    cacheJitter: 0.1,
    staleOnErrorSeconds: environment.FENCE_SECRET_CACHE_MAX_STALE_SECONDS,
    marginSeconds: environment.FENCE_ROTATION_MARGIN_SECONDS,
    defaultMaxUrlLifetimeSeconds: environment.FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS,
    ...(environment.REGISTRY_TABLE_NAME === undefined
      ? {}
      : {
          urlLifetimes: new DynamoDbSecretUrlLifetimes(
            new DynamoDBClient({}),
            environment.REGISTRY_TABLE_NAME,
          ),
        }),
  }),
  allowInsecureHttp: environment.FENCE_ALLOW_INSECURE_MINIO_HTTP,
  secretsPrefix: environment.FENCE_SECRETS_PREFIX,
  log: (entry) => logger.info('rotation step', entry),
});

/** Lambda entry: Secrets Manager invokes it once per step of each rotation. */
export const handler = middy<unknown, void, Error, Context>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(async (event) => {
    const step =
      typeof event === 'object' && event !== null ? String((event as { Step?: unknown }).Step) : 'unknown';
    metrics.addDimension(ROTATION_METRICS.stepDimension, step.slice(0, 32));
    try {
      await rotation.run(event);
      metrics.addMetric(ROTATION_METRICS.stepSucceeded, MetricUnit.Count, 1);
    } catch (error) {
      metrics.addMetric(ROTATION_METRICS.stepFailed, MetricUnit.Count, 1);
      // Keys past their grace may still be alive until a retry finishes the retirement.
      if (error instanceof RotationRetirementError)
        metrics.addMetric(ROTATION_METRICS.retirementFailed, MetricUnit.Count, 1);
      // Secrets Manager retries the whole rotation; the message never holds a secret value.
      logger.error('rotation step failed', {
        step,
        error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown',
      });
      throw error;
    }
  });
