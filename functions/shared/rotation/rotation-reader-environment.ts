import * as z from 'zod/mini';
import { seconds } from '../config/environment';

/**
 * The reader settings every rotation function reads (MinIO's and IAM's): the presign function's
 * variable names, so a stack sets both from one value. finishSecret keeps a demoted key for
 * cache TTL × 1.1 + URL lifetime + stale window + margin (rotation-interval.ts).
 */
export const RotationReaderEnvironment = {
  FENCE_SECRETS_PREFIX: z
    ._default(z.string().check(z.minLength(1)), 'gen3/fence/')
    .check(z.describe('Only secrets under this name prefix are rotated.')),
  FENCE_SECRET_CACHE_TTL_SECONDS: seconds(300).check(
    z.describe("The presign function's credentials cache TTL."),
  ),
  FENCE_SECRET_CACHE_MAX_STALE_SECONDS: seconds(3600).check(
    z.describe("The presign function's stale-on-error window (`max_stale`)."),
  ),
  FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS: seconds(3600).check(
    z.describe(
      "URL lifetime assumed for every secret; the registry's per-bucket `max_expires_in` may raise it.",
    ),
  ),
  FENCE_ROTATION_MARGIN_SECONDS: seconds(600).check(
    z.describe('Added to the grace for clocks and for the stage move to be seen everywhere.'),
  ),
  REGISTRY_TABLE_NAME: z.optional(z.string().check(z.minLength(1))).check(
    z.meta({
      description: 'The registry table, read (Scan) for the `max_expires_in` of the buckets on a secret.',
      unset: 'none',
    }),
  ),
};
