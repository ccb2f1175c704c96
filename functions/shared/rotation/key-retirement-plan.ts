import type { ServiceAccountInfo } from '../minio/minio-admin-client';
import { type ManagedKeyTag, readManagedKeyTag, writeManagedKeyTag } from './managed-key-tag';

/** Staging labels Secrets Manager itself uses; every other label is a pin of the operator's. */
export const AWS_STAGES = new Set(['AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING']);

/** MinIO refuses an expiration less than 15 minutes ahead; one minute more for clock skew. */
export const MIN_EXPIRATION_AHEAD_MS = 16 * 60_000;
/** MinIO refuses an expiration more than 365 days ahead. */
export const MAX_EXPIRATION_AHEAD_MS = 364 * 24 * 3600_000;

/** Everything retirement decides from: MinIO's listing of the parent's keys and the secret's labels. */
export interface RetirementInput {
  secret: { arnHash: string; name: string };
  parentUser: string;
  /** `list-service-accounts` of the parent user. */
  keys: readonly ServiceAccountInfo[];
  /**
   * Access key id → staging labels of the secret's versions holding it: every labelled version,
   * and (with no labels) the versions that were labelled before this finishSecret moved stages.
   */
  labels: ReadonlyMap<string, ReadonlySet<string>>;
  now: Date;
}

/** One change to one key. `update` keeps the key's inline policy (the executor reads it). */
export type RetirementAction =
  | { kind: 'delete'; accessKey: string; demotedAt: Date }
  | { kind: 'update'; accessKey: string; description: string; expiration?: Date | 'none'; reason: string };

/** A key rotation manages, with what the rules need to know about it. */
export interface ManagedKey {
  info: ServiceAccountInfo;
  tag: ManagedKeyTag | undefined;
  labels: ReadonlySet<string>;
  /** AWSCURRENT or a custom label: readers may load it at any time. */
  inUse: boolean;
}

/**
 * The keys of the parent that belong to this secret: those whose tag carries the secret's ARN
 * hash, and those a labelled version of the secret holds (adopted: e.g. the operator's first
 * key) unless another secret's tag claims them. Keys of other parents are never listed here.
 */
export function managedKeys(input: RetirementInput): ManagedKey[] {
  const managed: ManagedKey[] = [];
  for (const info of input.keys) {
    if (info.parentUser !== input.parentUser) continue;
    const tag = readManagedKeyTag(info.description);
    const labels = input.labels.get(info.accessKey);
    const ours = tag === undefined ? labels !== undefined : tag.arnHash === input.secret.arnHash;
    if (!ours) continue;
    const held = labels ?? new Set<string>();
    const inUse = held.has('AWSCURRENT') || [...held].some((label) => !AWS_STAGES.has(label));
    managed.push({ info, tag, labels: held, inUse });
  }
  return managed;
}

/** Whether the plan needs the grace (some managed key has lost every label). */
export function needsGrace(keys: readonly ManagedKey[]): boolean {
  return keys.some((key) => key.labels.size === 0);
}

/**
 * What finishSecret does to this secret's keys (DESIGN.md "Rotation", README runbook):
 * - a key in use (AWSCURRENT, or a custom label: a record's pin) is kept and carries no
 *   demotion stamp and no expiration, so its grace starts only once it stops being used; a
 *   pinned key is adopted (tagged) at once, since its version may lose every label by hand;
 * - any other key carries `demoted=<when it stopped being used>` (found without one: now, which
 *   is never earlier than the truth); a key the secret's versions hold is adopted (tagged) then;
 * - a key still labelled AWSPREVIOUS or AWSPENDING is kept;
 * - a key with no label is deleted once `graceSeconds` have passed since its stamp, and until
 *   then carries a MinIO expiration at the end of its grace (at least 16 minutes ahead), so it
 *   dies on time even if no rotation runs again.
 */
export function planRetirement(
  input: RetirementInput,
  keys: readonly ManagedKey[],
  graceSeconds: number,
): RetirementAction[] {
  const actions: RetirementAction[] = [];
  const now = input.now.getTime();
  for (const key of keys) {
    const accessKey = key.info.accessKey;
    const expiring = hasExpiration(key.info);
    if (key.inUse) {
      // A pinned key is adopted now: once unpinned, no version may hold it any more, and only
      // the tag would still say it is ours. The current key is adopted when it is demoted.
      const pinned = [...key.labels].some((label) => !AWS_STAGES.has(label));
      if (key.tag === undefined && !pinned) continue;
      if (key.tag !== undefined && key.tag.demotedAt === undefined && !expiring) continue;
      actions.push({
        kind: 'update',
        accessKey,
        description: writeManagedKeyTag({ arnHash: input.secret.arnHash, secretName: input.secret.name }),
        ...(expiring && key.tag !== undefined ? { expiration: 'none' as const } : {}),
        reason: key.tag === undefined ? 'adopted (pinned)' : 'in use again',
      });
      continue;
    }
    const demotedAt = key.tag?.demotedAt ?? input.now;
    const labelled = key.labels.size > 0;
    if (!labelled && now - demotedAt.getTime() >= graceSeconds * 1000) {
      actions.push({ kind: 'delete', accessKey, demotedAt });
      continue;
    }
    const description = writeManagedKeyTag({
      arnHash: input.secret.arnHash,
      demotedAt,
      secretName: input.secret.name,
    });
    const expiration = labelled
      ? expiring && key.tag !== undefined
        ? ('none' as const)
        : undefined
      : backstopExpiration(key.info, demotedAt, graceSeconds, now);
    if (description === key.info.description && expiration === undefined) continue;
    actions.push({
      kind: 'update',
      accessKey,
      description,
      ...(expiration === undefined ? {} : { expiration }),
      reason: key.tag === undefined ? 'adopted' : key.tag.demotedAt === undefined ? 'demoted' : 'unlabelled',
    });
  }
  return actions;
}

/**
 * The expiration an unlabelled key must carry: the end of its grace, at least 16 minutes ahead
 * (MinIO's floor) and at most 364 days. Undefined when the key's expiration already lies between
 * the end of its grace and that (set by an earlier pass).
 */
function backstopExpiration(
  info: ServiceAccountInfo,
  demotedAt: Date,
  graceSeconds: number,
  now: number,
): Date | undefined {
  const wanted = Math.min(
    Math.max(demotedAt.getTime() + graceSeconds * 1000, now + MIN_EXPIRATION_AHEAD_MS),
    now + MAX_EXPIRATION_AHEAD_MS,
  );
  const current = hasExpiration(info) ? Date.parse(info.expiration ?? '') : Number.NaN;
  const graceEnds = demotedAt.getTime() + graceSeconds * 1000;
  return current >= Math.min(graceEnds, wanted) && current <= wanted ? undefined : new Date(wanted);
}

/** Whether MinIO reports an expiration (it answers the Unix epoch, or nothing, for none). */
export function hasExpiration(info: ServiceAccountInfo): boolean {
  if (info.expiration === undefined || info.expiration === null) return false;
  const time = Date.parse(info.expiration);
  return Number.isFinite(time) && time > 0;
}
