import {
  minimumRotationIntervalSeconds,
  retirementGraceSeconds,
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
