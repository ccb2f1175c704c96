import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { readEnvironment } from '../shared/config/environment';
import { StoreEndpointPolicy } from '../shared/network/store-endpoint-policy';
import { IamAccessKeys } from '../shared/rotation/iam-access-keys';
import { IamUserKeyRotation } from '../shared/rotation/iam-user-key-rotation';
import { ReaderRetirementGrace } from '../shared/rotation/retirement-grace';
import { ROTATION_METRICS, runReportedRotationStep } from '../shared/rotation/rotation-metrics';
import { RotationStore } from '../shared/rotation/rotation-store';
import { DynamoDbSecretBuckets } from '../shared/rotation/secret-buckets';
import { DynamoDbSecretUrlLifetimes } from '../shared/rotation/secret-url-lifetimes';
import { IamRotationEnvironmentSchema } from './environment';

const environment = readEnvironment(IamRotationEnvironmentSchema);
const logger = new Logger();
const metrics = new Metrics();
const registry = environment.REGISTRY_TABLE_NAME;
const dynamodb = new DynamoDBClient({});
const rotation = new IamUserKeyRotation({
  store: new RotationStore(new SecretsManagerClient({})),
  // IAM throttles bursts; the SDK's adaptive retries absorb them within the step.
  iam: new IamAccessKeys(new IAMClient({ retryMode: 'adaptive', maxAttempts: 6 })),
  userPath: environment.ROTATED_IAM_USER_PATH,
  grace: new ReaderRetirementGrace({
    cacheTtlSeconds: environment.FENCE_SECRET_CACHE_TTL_SECONDS,
    cacheJitter: 0.1,
    staleOnErrorSeconds: environment.FENCE_SECRET_CACHE_MAX_STALE_SECONDS,
    marginSeconds: environment.FENCE_ROTATION_MARGIN_SECONDS,
    defaultMaxUrlLifetimeSeconds: environment.FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS,
    ...(registry === undefined ? {} : { urlLifetimes: new DynamoDbSecretUrlLifetimes(dynamodb, registry) }),
  }),
  ...(registry === undefined ? {} : { buckets: new DynamoDbSecretBuckets(dynamodb, registry) }),
  storeEndpoints: StoreEndpointPolicy.fromEnvironment(environment),
  secretsPrefix: environment.FENCE_SECRETS_PREFIX,
  log: (entry) => logger.info('rotation step', entry),
});

/** Lambda entry: Secrets Manager invokes it once per step of each rotation of an IAM-keyed secret. */
export const handler = middy<unknown, void, Error, Context>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(async (event, context) =>
    runReportedRotationStep(
      event,
      // testSecret waits out IAM's propagation only as long as this invocation may still run.
      () => rotation.run(event, { remainingMs: () => context.getRemainingTimeInMillis() }),
      {
        step: (step) => metrics.addDimension(ROTATION_METRICS.stepDimension, step),
        count: (metric) => metrics.addMetric(metric, MetricUnit.Count, 1),
        failed: (entry) => logger.error('rotation step failed', entry),
      },
    ),
  );
