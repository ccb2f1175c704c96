import type { BucketRecord } from '../registry/bucket-record';
import type { SecretDescription } from '../secrets/secret-administration';
import type { SecretPayload } from '../secrets/secret-resolver';
import { DriftFinding } from './drift-finding';

/**
 * `DRIFT_MAX_STATIC_KEY_AGE_DAYS` unless set: 90 days, the age past which AWS's own guidance (and
 * IAM's credential report) calls an access key due for rotation.
 */
export const DEFAULT_MAX_STATIC_KEY_AGE_DAYS = 90;

const DAY_MS = 86_400_000;

/**
 * Whether the record signs with a long-lived AWS access key held in its secret: a static AWS
 * record whose payload has a key pair and no session token (temporary credentials expire by
 * themselves; they have no age to watch).
 */
export function signsWithStaticAwsKey(record: BucketRecord, payload: SecretPayload | undefined): boolean {
  return (
    record.auth_mode === 'static' &&
    record.provider === 'aws' &&
    typeof payload?.access_key_id === 'string' &&
    typeof payload.secret_access_key === 'string' &&
    payload.session_token === undefined
  );
}

/** The version a record signs with: its pin (a version id or a label), else AWSCURRENT. */
export function signingVersionId(description: SecretDescription, pin: string | null): string | undefined {
  const label = pin ?? 'AWSCURRENT';
  return (
    description.versions.find((version) => version.id === label) ??
    description.versions.find((version) => version.stages.includes(label))
  )?.id;
}

export interface StaticKeyAgeInput {
  description: SecretDescription;
  /** The version the record signs with (`signingVersionId`). */
  versionId: string;
  /** The key's access key id: reported by its last 4 characters only. */
  accessKeyId: string;
  /**
   * When the version was created, from the backend's metadata (Secrets Manager's
   * `ListSecretVersionIds`: no IAM rights, and no read of the value).
   */
  versionCreatedAt: (ref: string, versionId: string) => Promise<Date | undefined>;
  now: Date;
  maxDays: number;
}

/**
 * The `key_age` check: a static AWS key without rotation may be no older than `maxDays`, aged by
 * its secret version's creation date. That date is when the key was stored, so the age is a lower
 * bound (a key `migrate` moved from fence-config.yaml may be older in IAM); reading the key's own
 * date would take `iam:ListAccessKeys` on every user, which the drift role does not have. A secret
 * with rotation enabled passes: its keys change with each rotation, and the `rotation` check holds
 * it to its schedule.
 */
export async function checkStaticKeyAge(input: StaticKeyAgeInput): Promise<string> {
  const { description, maxDays } = input;
  if (description.rotationEnabled) {
    return `rotation is enabled on ${description.name}: its key changes with each rotation`;
  }
  const created = await input.versionCreatedAt(description.ref, input.versionId);
  if (created === undefined) {
    throw new DriftFinding(`${description.name}: version ${input.versionId} has no creation date`);
  }
  const days = Math.floor((input.now.getTime() - created.getTime()) / DAY_MS);
  const hint = `…${input.accessKeyId.slice(-4)}`;
  if (days > maxDays) {
    throw new DriftFinding(
      `${description.name} holds the static AWS key ${hint}, stored ${created.toISOString()}, ${days} days ago: older than the ${maxDays}-day limit (DRIFT_MAX_STATIC_KEY_AGE_DAYS), and rotation is not enabled: enable IAM-key rotation on the secret, or replace the key`,
    );
  }
  return `the static AWS key ${hint} was stored ${days} day(s) ago (limit ${maxDays}); rotation is not enabled`;
}
