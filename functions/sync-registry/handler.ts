import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { readEnvironment } from '../shared/config/environment';
import { SyncEnvironmentSchema } from './environment';
import { createSyncHandler } from './sync-handler';

/** Lambda entry of the scheduled registry sync (Fence DB → DynamoDB), invoked by EventBridge. */
export const handler = createSyncHandler({
  environment: readEnvironment(SyncEnvironmentSchema),
  logger: new Logger(),
  metrics: new Metrics(),
});
