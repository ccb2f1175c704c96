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
import { ROTATION_METRICS, runReportedRotationStep } from '../shared/rotation/rotation-metrics';
import { RotationStore } from '../shared/rotation/rotation-store';
import { DynamoDbSecretUrlLifetimes } from '../shared/rotation/secret-url-lifetimes';
import { RotationEnvironmentSchema } from './environment';

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
  .handler(async (event) =>
    runReportedRotationStep(event, () => rotation.run(event), {
      step: (step) => metrics.addDimension(ROTATION_METRICS.stepDimension, step),
      count: (metric) => metrics.addMetric(metric, MetricUnit.Count, 1),
      failed: (entry) => logger.error('rotation step failed', entry),
    }),
  );
