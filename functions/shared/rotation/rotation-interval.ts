/**
 * The deployment's rotation interval when `rotationDays` is not set: the CDK app schedules its
 * rotations with it and the CLI turns rotation on with it, so both agree without a second number.
 */
export const DEFAULT_ROTATION_DAYS = 30;

/** What decides how long a key must stay valid after it stops being AWSCURRENT. */
export interface RotationReaders {
  /** The credentials cache TTL of the presign function, in seconds. */
  cacheTtlSeconds: number;
  /** The TTL's jitter as a fraction (DESIGN.md: ±10 %). */
  cacheJitter: number;
  /** The longest presigned URL a bucket on this secret may issue, in seconds. */
  maxUrlLifetimeSeconds: number;
  /** How long the cache serves a value it could not refresh (its `max_stale`), in seconds. */
  staleOnErrorSeconds: number;
  marginSeconds: number;
}

/** The interval rule also needs the schedule's slack. */
export interface RotationSchedule extends RotationReaders {
  /**
   * How much earlier than its interval Secrets Manager may start a rotation: a schedule runs
   * somewhere in its window, so two rotations can be up to a day closer than the interval.
   */
  rotationWindowSeconds: number;
}

/**
 * How long a key must stay valid after it stopped being AWSCURRENT, the rule finishSecret
 * enforces at run time. A reader may have loaded the key just before it was demoted and keep
 * serving it for a TTL (plus jitter), or for the stale-on-error window if Secrets Manager fails;
 * a URL signed at the end of that lives a URL lifetime more; the margin covers clocks and the
 * time a stage move takes to be seen.
 */
export function retirementGraceSeconds(readers: RotationReaders): number {
  return (
    readers.cacheTtlSeconds * (1 + readers.cacheJitter) +
    readers.maxUrlLifetimeSeconds +
    readers.staleOnErrorSeconds +
    readers.marginSeconds
  );
}

/**
 * The shortest schedule at which each rotation can retire the key from two rotations ago, so no
 * more than three keys exist. Shorter schedules are safe (finishSecret keeps every key still
 * within its grace) but let keys pile up until a later rotation retires them; the CDK construct
 * refuses them so the steady state stays three keys. Secrets Manager may start a rotation up to
 * a window early, so the window is added.
 */
export function minimumRotationIntervalSeconds(schedule: RotationSchedule): number {
  return retirementGraceSeconds(schedule) + schedule.rotationWindowSeconds;
}

/** A secret's rotation schedule in seconds: how often, and how much earlier a rotation may start. */
export interface ScheduledRotation {
  intervalSeconds: number;
  windowSeconds: number;
}

const DAY_SECONDS = 86_400;
const RATE = /^rate\((\d+) (day|days|hour|hours)\)$/;
const WINDOW = /^(\d+)h$/;

/**
 * The interval and window of a Secrets Manager schedule (`RotationRules`): a number of days, or a
 * `rate(N days|hours)` expression. Without a `Duration`, Secrets Manager's window for a schedule
 * in days is the rest of the UTC day (24 h, the construct's assumption) and for one in hours an
 * hour. Undefined for a `cron()` expression (no fixed interval) and for no schedule.
 */
export function scheduledRotation(rules: {
  automaticallyAfterDays?: number;
  scheduleExpression?: string;
  duration?: string;
}): ScheduledRotation | undefined {
  const window = WINDOW.exec(rules.duration ?? '');
  const windowOr = (fallback: number) => (window === null ? fallback : Number(window[1]) * 3600);
  const rate = RATE.exec(rules.scheduleExpression?.trim() ?? '');
  if (rate !== null) {
    const inHours = rate[2]?.startsWith('hour') === true;
    const amount = Number(rate[1]);
    if (amount < 1) return undefined;
    return inHours
      ? { intervalSeconds: amount * 3600, windowSeconds: windowOr(3600) }
      : { intervalSeconds: amount * DAY_SECONDS, windowSeconds: windowOr(DAY_SECONDS) };
  }
  if (rules.scheduleExpression !== undefined) return undefined;
  const days = rules.automaticallyAfterDays;
  if (days === undefined || !Number.isInteger(days) || days < 1) return undefined;
  return { intervalSeconds: days * DAY_SECONDS, windowSeconds: windowOr(DAY_SECONDS) };
}
