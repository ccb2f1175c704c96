/** What decides how often a secret may rotate without breaking its readers. */
export interface RotationReaders {
  /** The credentials cache TTL of the presign function, in seconds. */
  cacheTtlSeconds: number;
  /** The TTL's jitter as a fraction (DESIGN.md: ±10 %). */
  cacheJitter: number;
  /** The longest presigned URL a bucket on this secret may issue, in seconds. */
  maxUrlLifetimeSeconds: number;
  marginSeconds: number;
  /**
   * How long the presign cache keeps serving a value after the backend fails
   * (FENCE_SECRET_CACHE_MAX_STALE_SECONDS): a cached copy of the old key can outlive its TTL by
   * this much. @default 0 (callers that schedule rotation pass it)
   */
  staleOnErrorSeconds?: number;
  /**
   * How much earlier than its interval a scheduled rotation may run: Secrets Manager rotates at
   * any time within a rotation window, which for a `rate(N days)` schedule is the whole UTC day,
   * so two scheduled rotations can finish up to ~24 h closer than the interval. @default 0
   */
  rotationWindowSeconds?: number;
}

/**
 * The shortest safe time between two rotations' finishes. Rotation n+2 deletes (at its finish)
 * the key that was current before rotation n+1 finished, so that key must outlive every cached
 * copy (up to TTL + jitter after n+1's finish) and every URL signed from such a copy (a URL
 * lifetime more), plus a margin. Secrets Manager's schedule counts between rotations, and a
 * rotation takes seconds, so a schedule longer than this keeps it.
 */
export function minimumRotationIntervalSeconds(readers: RotationReaders): number {
  return (
    readers.cacheTtlSeconds * (1 + readers.cacheJitter) +
    (readers.staleOnErrorSeconds ?? 0) +
    readers.maxUrlLifetimeSeconds +
    readers.marginSeconds +
    (readers.rotationWindowSeconds ?? 0)
  );
}
