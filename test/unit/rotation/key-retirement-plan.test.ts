import type { ServiceAccountInfo } from '../../../functions/shared/minio/minio-admin-client';
import {
  managedKeys,
  needsGrace,
  planRetirement,
  type RetirementInput,
} from '../../../functions/shared/rotation/key-retirement-plan';
import { readManagedKeyTag, writeManagedKeyTag } from '../../../functions/shared/rotation/managed-key-tag';

const ARN_HASH = 'a'.repeat(32);
const OTHER_HASH = 'b'.repeat(32);
const NAME = 'gen3/fence/minio/dataset';
const NOW = new Date('2025-06-01T12:00:00Z');
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);

/** A listed key of the parent; `tag` writes our description (with `demoted` minutes ago, if given). */
function key(
  accessKey: string,
  options: {
    tag?: 'ours' | 'other' | 'none';
    demoted?: number;
    expiration?: Date;
    description?: string;
  } = {},
): ServiceAccountInfo {
  const tag = options.tag ?? 'ours';
  const description =
    options.description ??
    (tag === 'none'
      ? undefined
      : writeManagedKeyTag({
          arnHash: tag === 'ours' ? ARN_HASH : OTHER_HASH,
          secretName: NAME,
          ...(options.demoted === undefined ? {} : { demotedAt: minutesAgo(options.demoted) }),
        }));
  return {
    accessKey,
    parentUser: 'fence-parent',
    accountStatus: 'on',
    impliedPolicy: false,
    expiration: options.expiration?.toISOString() ?? '1970-01-01T00:00:00Z',
    ...(description === undefined ? {} : { description }),
  };
}

function input(keys: ServiceAccountInfo[], labels: Record<string, string[]>): RetirementInput {
  return {
    secret: { arnHash: ARN_HASH, name: NAME },
    parentUser: 'fence-parent',
    keys,
    labels: new Map(Object.entries(labels).map(([accessKey, stages]) => [accessKey, new Set(stages)])),
    now: NOW,
  };
}

function plan(keys: ServiceAccountInfo[], labels: Record<string, string[]>, graceMinutes: number) {
  const given = input(keys, labels);
  return planRetirement(given, managedKeys(given), graceMinutes * 60);
}

describe('Function: planRetirement (the grace rule)', () => {
  it('deletes an unlabelled key of ours once its grace has passed, and keeps AWSCURRENT and AWSPREVIOUS', () => {
    // Act
    const actions = plan(
      [key('CURRENT'), key('PREVIOUS', { demoted: 500 }), key('OLD', { demoted: 200 })],
      { CURRENT: ['AWSCURRENT', 'AWSPENDING'], PREVIOUS: ['AWSPREVIOUS'] },
      120,
    );

    // Assess
    expect(actions).toEqual([{ kind: 'delete', accessKey: 'OLD', demotedAt: minutesAgo(200) }]);
  });

  it('keeps an unlabelled key within its grace, with a MinIO expiration at its end (at least 16 minutes ahead)', () => {
    // Act
    const actions = plan([key('RECENT', { demoted: 30 }), key('ALMOST', { demoted: 119 })], {}, 120);

    // Assess
    expect(actions).toEqual([
      expect.objectContaining({
        kind: 'update',
        accessKey: 'RECENT',
        expiration: new Date(minutesAgo(30).getTime() + 120 * 60_000),
      }),
      expect.objectContaining({
        kind: 'update',
        accessKey: 'ALMOST',
        expiration: new Date(NOW.getTime() + 16 * 60_000),
      }),
    ]);
    // A later pass leaves an expiration it already set alone.
    const [first] = actions;
    const again = plan(
      [
        key('RECENT', {
          demoted: 30,
          expiration: first?.kind === 'update' ? (first.expiration as Date) : undefined,
        }),
      ],
      {},
      120,
    );
    expect(again).toEqual([]);
  });

  it("stamps a demoted key found without a stamp with now, and adopts a key a version holds (the operator's first key)", () => {
    // Act
    const actions = plan(
      [key('FIRST', { tag: 'none' }), key('UNSTAMPED')],
      { FIRST: ['AWSPREVIOUS'], UNSTAMPED: [] },
      120,
    );

    // Assess
    expect(
      actions.map((action) => [action.accessKey, action.kind === 'update' ? action.reason : action.kind]),
    ).toEqual([
      ['FIRST', 'adopted'],
      ['UNSTAMPED', 'demoted'],
    ]);
    for (const action of actions) {
      if (action.kind !== 'update') throw new Error('expected updates');
      expect(readManagedKeyTag(action.description)).toEqual({
        arnHash: ARN_HASH,
        demotedAt: NOW,
        secretName: NAME,
      });
    }
    // FIRST is still labelled AWSPREVIOUS: no expiration; UNSTAMPED has lost its labels: one.
    expect(actions[0]).not.toHaveProperty('expiration');
    expect(actions[1]).toHaveProperty('expiration');
  });

  it('keeps pinned keys (custom labels) unstamped and adopts them; a key used again loses its stamp and expiration', () => {
    // Act
    const actions = plan(
      [
        key('PINNED', { tag: 'none' }),
        key('ROLLED-BACK', { demoted: 10, expiration: new Date(NOW.getTime() + 3600_000) }),
        key('CURRENT-UNTAGGED', { tag: 'none' }),
      ],
      { PINNED: ['fence-pin'], 'ROLLED-BACK': ['AWSCURRENT'], 'CURRENT-UNTAGGED': ['AWSCURRENT'] },
      0,
    );

    // Assess
    expect(actions).toEqual([
      expect.objectContaining({ accessKey: 'PINNED', reason: 'adopted (pinned)' }),
      expect.objectContaining({ accessKey: 'ROLLED-BACK', reason: 'in use again', expiration: 'none' }),
    ]);
    for (const action of actions)
      if (action.kind === 'update') expect(readManagedKeyTag(action.description)?.demotedAt).toBeUndefined();
  });

  it('never touches keys of other secrets, or untagged keys no version of the secret holds', () => {
    // Prepare
    const keys = [
      key('FOREIGN', { tag: 'other', demoted: 9999 }),
      key('LEGACY', { description: `fence-bucket-broker rotation of ${NAME}` }),
      key('STRANGER', { tag: 'none' }),
      // Another secret's tag wins even if our version names the key.
      key('SHARED', { tag: 'other' }),
    ];

    // Act
    const given = input(keys, { SHARED: [] });
    const managed = managedKeys(given);

    // Assess
    expect(managed).toEqual([]);
    expect(planRetirement(given, managed, 0)).toEqual([]);
    expect(needsGrace(managed)).toBe(false);
  });

  it('needs the grace only when some key of ours has lost every label', () => {
    expect(needsGrace(managedKeys(input([key('A')], { A: ['AWSCURRENT'] })))).toBe(false);
    expect(needsGrace(managedKeys(input([key('A'), key('B', { demoted: 1 })], { A: ['AWSCURRENT'] })))).toBe(
      true,
    );
  });
});
