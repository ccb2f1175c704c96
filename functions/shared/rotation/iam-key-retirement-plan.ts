import type { IamAccessKey } from './iam-access-keys';

/** The user tag that says when a key stopped being used (IAM access keys carry no tags). */
export const DEMOTED_TAG_PREFIX = 'fence-bucket-broker:demoted:';
export const demotedTag = (accessKeyId: string) => `${DEMOTED_TAG_PREFIX}${accessKeyId}`;

/** Everything an IAM retirement pass decides from. */
export interface IamRetirementInput {
  keys: readonly IamAccessKey[];
  /** Access key id → staging labels of the secret's versions holding it (as the core gathers them). */
  labels: ReadonlyMap<string, ReadonlySet<string>>;
  /** The user's tags: `fence-bucket-broker:demoted:<key id>` → ISO time. */
  tags: ReadonlyMap<string, string>;
  now: Date;
  /**
   * `finish` (finishSecret): deactivate at the end of grace, delete a key already deactivated.
   * `make-room` (createSecret): delete at the end of grace, for IAM's two-key limit.
   */
  mode: 'finish' | 'make-room';
}

export type IamRetirementAction =
  | { kind: 'stamp'; accessKeyId: string; demotedAt: Date }
  | { kind: 'unstamp'; accessKeyId: string }
  | { kind: 'activate'; accessKeyId: string }
  | { kind: 'deactivate'; accessKeyId: string; demotedAt: Date }
  | { kind: 'delete'; accessKeyId: string; demotedAt: Date };

/**
 * Whether readers may load the key at any time: AWSCURRENT, AWSPENDING (the key being made) or a
 * custom label (a record's pin). AWSPREVIOUS does not keep an IAM key past its grace, unlike a
 * MinIO one: with two keys per user, the previous key must go before the next can be created.
 */
export function inUse(labels: ReadonlySet<string> | undefined): boolean {
  if (labels === undefined) return false;
  return [...labels].some((label) => label !== 'AWSPREVIOUS');
}

/** When a key stopped being used, from its stamp; undefined when unstamped or unreadable. */
export function demotedAt(tags: ReadonlyMap<string, string>, accessKeyId: string): Date | undefined {
  const text = tags.get(demotedTag(accessKeyId));
  const time = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isFinite(time) ? new Date(time) : undefined;
}

/** Whether the plan needs the grace (some key is not in use). */
export function iamNeedsGrace(input: Pick<IamRetirementInput, 'keys' | 'labels'>): boolean {
  return input.keys.some((key) => !inUse(input.labels.get(key.accessKeyId)));
}

/**
 * What a pass does to the user's keys (the user belongs to the secret, so every key is the
 * secret's): a key in use is kept, active and unstamped; any other key is stamped when first seen
 * out of use (now: never earlier than the truth), and once `graceSeconds` have passed since its
 * stamp it is deactivated (finishSecret) and deleted (the next pass, or createSecret at once).
 */
export function planIamRetirement(input: IamRetirementInput, graceSeconds: number): IamRetirementAction[] {
  const actions: IamRetirementAction[] = [];
  for (const key of input.keys) {
    const { accessKeyId } = key;
    const stamp = demotedAt(input.tags, accessKeyId);
    if (inUse(input.labels.get(accessKeyId))) {
      if (input.tags.has(demotedTag(accessKeyId))) actions.push({ kind: 'unstamp', accessKeyId });
      if (key.status === 'Inactive') actions.push({ kind: 'activate', accessKeyId });
      continue;
    }
    const since = stamp ?? input.now;
    if (stamp === undefined) actions.push({ kind: 'stamp', accessKeyId, demotedAt: since });
    if (input.now.getTime() - since.getTime() < graceSeconds * 1000) continue;
    if (input.mode === 'finish' && key.status === 'Active') {
      actions.push({ kind: 'deactivate', accessKeyId, demotedAt: since });
      continue;
    }
    actions.push({ kind: 'delete', accessKeyId, demotedAt: since });
  }
  return actions;
}
