import type { IamAccessKey } from '../../../functions/shared/rotation/iam-access-keys';
import {
  demotedTag,
  type IamRetirementInput,
  inUse,
  planIamRetirement,
} from '../../../functions/shared/rotation/iam-key-retirement-plan';

const NOW = new Date('2026-01-10T00:00:00Z');
const key = (accessKeyId: string, status: 'Active' | 'Inactive' = 'Active'): IamAccessKey => ({
  accessKeyId,
  status,
  createdAt: new Date('2026-01-01T00:00:00Z'),
});
const input = (overrides: Partial<IamRetirementInput>): IamRetirementInput => ({
  keys: [],
  labels: new Map(),
  tags: new Map(),
  now: NOW,
  mode: 'finish',
  ...overrides,
});
const stampedAgo = (accessKeyId: string, seconds: number) =>
  new Map([[demotedTag(accessKeyId), new Date(NOW.getTime() - seconds * 1000).toISOString()]]);

describe('Function: planIamRetirement', () => {
  it('keeps AWSCURRENT, AWSPENDING and pinned keys; AWSPREVIOUS alone is not in use (two keys per user)', () => {
    expect(inUse(new Set(['AWSCURRENT']))).toBe(true);
    expect(inUse(new Set(['AWSPENDING']))).toBe(true);
    expect(inUse(new Set(['AWSPREVIOUS', 'pin-2026']))).toBe(true);
    expect(inUse(new Set(['AWSPREVIOUS']))).toBe(false);
    expect(inUse(undefined)).toBe(false);
  });

  it('stamps a key first seen out of use, and keeps it within its grace', () => {
    // Act
    const actions = planIamRetirement(
      input({ keys: [key('AKIAOLD')], labels: new Map([['AKIAOLD', new Set(['AWSPREVIOUS'])]]) }),
      600,
    );

    // Assess
    expect(actions).toEqual([{ kind: 'stamp', accessKeyId: 'AKIAOLD', demotedAt: NOW }]);
  });

  it('finishSecret deactivates at the end of grace and deletes a key already deactivated', () => {
    // Act
    const actions = planIamRetirement(
      input({
        keys: [key('AKIAACTIVE'), key('AKIAINACTIVE', 'Inactive')],
        tags: new Map([...stampedAgo('AKIAACTIVE', 600), ...stampedAgo('AKIAINACTIVE', 700)]),
      }),
      600,
    );

    // Assess
    expect(actions.map((action) => [action.kind, action.accessKeyId])).toEqual([
      ['deactivate', 'AKIAACTIVE'],
      ['delete', 'AKIAINACTIVE'],
    ]);
  });

  it('createSecret deletes at the end of grace, never a second before', () => {
    // Act
    const due = planIamRetirement(
      input({ keys: [key('AKIADUE')], tags: stampedAgo('AKIADUE', 600), mode: 'make-room' }),
      600,
    );
    const early = planIamRetirement(
      input({ keys: [key('AKIAEARLY')], tags: stampedAgo('AKIAEARLY', 599), mode: 'make-room' }),
      600,
    );

    // Assess
    expect(due.map((action) => action.kind)).toEqual(['delete']);
    expect(early).toEqual([]);
  });

  it('a key in use again loses its stamp and is active again', () => {
    // Act
    const actions = planIamRetirement(
      input({
        keys: [key('AKIAPIN', 'Inactive')],
        labels: new Map([['AKIAPIN', new Set(['pin-2026'])]]),
        tags: stampedAgo('AKIAPIN', 10_000),
      }),
      600,
    );

    // Assess
    expect(actions).toEqual([
      { kind: 'unstamp', accessKeyId: 'AKIAPIN' },
      { kind: 'activate', accessKeyId: 'AKIAPIN' },
    ]);
  });
});
