import { type RotationReaders, retirementGraceSeconds } from './rotation-interval';
import type { SecretUrlLifetimes } from './secret-url-lifetimes';

/** How long a demoted key of a secret must stay valid (rotation-interval.ts has the rule). */
export interface RetirementGrace {
  seconds(secret: { name: string; arn: string }): Promise<number>;
}

export interface ReaderRetirementGraceSettings extends Omit<RotationReaders, 'maxUrlLifetimeSeconds'> {
  /** URL lifetime assumed for every secret: the floor, and all there is without a registry. */
  defaultMaxUrlLifetimeSeconds: number;
  /** Per-bucket `max_expires_in` of the buckets on the secret. @default none: the default only */
  urlLifetimes?: SecretUrlLifetimes;
}

/**
 * The grace from the presign function's settings (cache TTL, stale-on-error window) and the
 * longest URL lifetime of the secret's buckets, never below the deployment's default.
 */
export class ReaderRetirementGrace implements RetirementGrace {
  constructor(private readonly settings: ReaderRetirementGraceSettings) {}

  async seconds(secret: { name: string; arn: string }): Promise<number> {
    const registered = await this.settings.urlLifetimes?.longestFor(secret);
    return retirementGraceSeconds({
      ...this.settings,
      maxUrlLifetimeSeconds: Math.max(this.settings.defaultMaxUrlLifetimeSeconds, registered ?? 0),
    });
  }
}
