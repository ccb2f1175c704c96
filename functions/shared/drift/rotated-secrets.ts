import { IAM_ROTATION_TAG, iamRotationSecretFrom } from '../rotation/iam-rotation-secret';
import { scheduledRotation } from '../rotation/rotation-interval';
import type { SecretDescription } from '../secrets/secret-administration';
import type { SecretPayload } from '../secrets/secret-resolver';
import { DriftFinding } from './drift-finding';

/**
 * Which rotation manages a secret, and how the drift check knows (said in findings, so an operator
 * sees why a secret is held to a schedule): MinIO rotation by `minio_parent_user`, IAM-user-key
 * rotation by `iam_user_name` or the rotation tag.
 */
export interface RotatedSecretKind {
  rotation: 'MinIO' | 'IAM' | 'its own';
  /** What marks it, e.g. `it names minio_parent_user`. */
  marker: string;
}

/** A static AWS key under rotation that neither MinIO's nor the IAM-key rotation marks (an operator's own function). */
export const OWN_ROTATION: RotatedSecretKind = { rotation: 'its own', marker: 'rotation is enabled on it' };

/** The rotation that manages the secret, by its AWSCURRENT payload and tags; undefined for none. */
export function rotatedSecretKind(
  description: Pick<SecretDescription, 'tags'>,
  current: SecretPayload | undefined,
): RotatedSecretKind | undefined {
  if (current !== undefined && 'minio_parent_user' in current) {
    return { rotation: 'MinIO', marker: 'it names minio_parent_user' };
  }
  if (current !== undefined && 'iam_user_name' in current) {
    return { rotation: 'IAM', marker: 'it names iam_user_name' };
  }
  if (description.tags?.[IAM_ROTATION_TAG.key] === IAM_ROTATION_TAG.value) {
    return {
      rotation: 'IAM',
      marker: `it carries the tag ${IAM_ROTATION_TAG.key}=${IAM_ROTATION_TAG.value}`,
    };
  }
  return undefined;
}

const days = (seconds: number) => `${Math.round((seconds / 86_400) * 10) / 10} days`;

/**
 * The `rotation` check of a rotated secret, whichever rotation runs it (the four steps and the
 * stage moves are Secrets Manager's, the same for MinIO and IAM keys): rotation is enabled, no
 * rotation is stuck half-way (AWSPENDING on a version that is not AWSCURRENT), and the last
 * successful one (`LastRotatedDate`, else the secret's creation) is no older than the interval
 * plus the rotation window.
 */
export function checkRotationSchedule(
  description: SecretDescription,
  kind: RotatedSecretKind,
  now: Date,
): string {
  if (!description.rotationEnabled) {
    const article = kind.rotation === 'IAM' ? 'an' : 'a';
    throw new DriftFinding(
      `rotation is not enabled on ${description.name}, ${article} ${kind.rotation}-rotated secret (${kind.marker}): its keys no longer change`,
    );
  }
  const stuck = description.versions.find(
    (version) => version.stages.includes('AWSPENDING') && !version.stages.includes('AWSCURRENT'),
  );
  if (stuck !== undefined) {
    throw new DriftFinding(
      `a rotation of ${description.name} started (AWSPENDING on version ${stuck.id}) and has not finished: see the rotation function's RotationStepFailed`,
    );
  }
  const schedule = scheduledRotation(description.rotationRules ?? {});
  const last = description.lastRotatedAt ?? description.createdAt;
  const since = description.lastRotatedAt === undefined ? 'created' : 'last rotated';
  if (schedule === undefined) {
    return `rotation enabled (schedule ${description.rotationRules?.scheduleExpression ?? 'unknown'}: no fixed interval to hold it to)`;
  }
  if (last === undefined) return `rotation enabled, every ${days(schedule.intervalSeconds)}`;
  const ageSeconds = (now.getTime() - last.getTime()) / 1000;
  const allowed = schedule.intervalSeconds + schedule.windowSeconds;
  if (ageSeconds > allowed) {
    throw new DriftFinding(
      `${description.name} was ${since} ${last.toISOString()}, ${days(ageSeconds)} ago; rotating every ${days(schedule.intervalSeconds)} (window ${schedule.windowSeconds / 3600} h) it should have rotated since: see the rotation function's RotationStepFailed`,
    );
  }
  return `rotation enabled, every ${days(schedule.intervalSeconds)}; ${since} ${last.toISOString()}`;
}

/**
 * The `rotation` check of an IAM-rotated secret: when rotation is on, its AWSCURRENT payload keeps
 * the shape the IAM-key rotation reads (a tag without `iam_user_name` cannot rotate), and its
 * schedule holds.
 */
export function checkIamRotation(
  description: SecretDescription,
  kind: RotatedSecretKind,
  current: SecretPayload | undefined,
  now: Date,
): string {
  if (description.rotationEnabled) iamRotationSecretFrom(description.name, current ?? {});
  return checkRotationSchedule(description, kind, now);
}
