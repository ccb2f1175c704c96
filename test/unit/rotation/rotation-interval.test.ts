import {
  minimumRotationIntervalSeconds,
  retirementGraceSeconds,
  scheduledRotation,
} from '../../../functions/shared/rotation/rotation-interval';

const defaults = {
  cacheTtlSeconds: 300,
  cacheJitter: 0.1,
  maxUrlLifetimeSeconds: 3600,
  staleOnErrorSeconds: 3600,
  marginSeconds: 600,
};

describe('Rule: retirement grace and rotation interval', () => {
  it('keeps a demoted key for cache TTL × 1.1 + URL lifetime + stale-on-error window + margin', () => {
    expect(retirementGraceSeconds(defaults)).toBeCloseTo(330 + 3600 + 3600 + 600, 9);
  });

  it('asks a schedule for the grace plus the rotation window (Secrets Manager may rotate up to a day early)', () => {
    expect(minimumRotationIntervalSeconds({ ...defaults, rotationWindowSeconds: 86_400 })).toBeCloseTo(
      retirementGraceSeconds(defaults) + 86_400,
      9,
    );
  });
});

describe('Function: scheduledRotation', () => {
  it.each([
    [{ automaticallyAfterDays: 30 }, { intervalSeconds: 30 * 86_400, windowSeconds: 86_400 }],
    [{ scheduleExpression: 'rate(2 days)' }, { intervalSeconds: 2 * 86_400, windowSeconds: 86_400 }],
    [
      { scheduleExpression: 'rate(1 day)', duration: '3h' },
      { intervalSeconds: 86_400, windowSeconds: 10_800 },
    ],
    [{ scheduleExpression: 'rate(12 hours)' }, { intervalSeconds: 43_200, windowSeconds: 3600 }],
    [
      { automaticallyAfterDays: 7, duration: '2h' },
      { intervalSeconds: 7 * 86_400, windowSeconds: 7200 },
    ],
  ])('reads %j as %j', (rules, expected) => {
    expect(scheduledRotation(rules)).toEqual(expected);
  });

  it.each([
    [{}],
    [{ automaticallyAfterDays: 0 }],
    [{ scheduleExpression: 'cron(0 16 1,15 * ? *)' }],
    [{ scheduleExpression: 'rate(0 days)' }],
    [{ scheduleExpression: 'cron(0 16 1,15 * ? *)', automaticallyAfterDays: 30 }],
  ])('has no fixed interval for %j', (rules) => {
    expect(scheduledRotation(rules)).toBeUndefined();
  });
});
