import * as z from 'zod/mini';
import { booleanFlag } from '../shared/config/environment';
import { StoreEndpointEnvironment } from '../shared/network/store-endpoint-policy';
import { RotationReaderEnvironment } from '../shared/rotation/rotation-reader-environment';

/**
 * The rotation function's environment; the CDK construct is typed by the same schema. The
 * reader settings are the presign function's (same variable names, so a stack sets both from
 * one value): finishSecret keeps a demoted key for cache TTL × 1.1 + URL lifetime + stale window
 * + margin (rotation-interval.ts).
 */
export const RotationEnvironmentSchema = z.object({
  ...RotationReaderEnvironment,
  FENCE_ALLOW_INSECURE_MINIO_HTTP: booleanFlag(false).check(
    z.describe('Accept `http` MinIO endpoints: for tests and local development only.'),
  ),
  /** Where the function's own calls to stores may go (SSRF): `network/store-endpoint-policy.ts`. */
  ...StoreEndpointEnvironment,
});
export type RotationEnvironment = z.output<typeof RotationEnvironmentSchema>;
