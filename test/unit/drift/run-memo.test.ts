import type { AdminSecretsBackend } from '../../../functions/shared/admin/bucket-proof';
import { memoize, memoizedBackend, memoizedKmsKeys } from '../../../functions/shared/drift/run-memo';

describe('Drift run: one answer per secret and KMS key', () => {
  it('asks once per key, in flight or settled, and shares a failure with every caller', async () => {
    // Prepare
    let calls = 0;
    const describe = memoize(
      async (ref: string) => {
        calls++;
        if (ref === 'broken') throw new Error('AccessDenied');
        return `described ${ref}`;
      },
      (ref) => ref,
    );

    // Act
    const first = await Promise.all([describe('a'), describe('a'), describe('b')]);
    const again = await describe('a');
    const failures = await Promise.allSettled([describe('broken'), describe('broken')]);

    // Assess
    expect(first).toEqual(['described a', 'described a', 'described b']);
    expect(again).toBe('described a');
    expect(failures.map((failure) => failure.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(3);
  });

  it('keeps versions apart, and passes writes through unmemoized', async () => {
    // Prepare
    const reads: string[] = [];
    const writes: string[] = [];
    const backend = memoizedBackend({
      read: {
        backend: 'aws_sm',
        get: async (ref: string, version?: string | null) => {
          reads.push(`${ref}@${version ?? 'current'}`);
          return { value: ref };
        },
        put: async (ref: string) => {
          writes.push(ref);
          return 'v';
        },
      },
      admin: {
        backend: 'aws_sm',
        describe: async (ref: string) => ({ ref, name: ref, rotationEnabled: false, versions: [] }),
        create: async () => {
          throw new Error('not used');
        },
        remove: async () => undefined,
        rotate: async () => 'v',
      },
    } as unknown as AdminSecretsBackend);
    const kmsCalls: string[] = [];
    const kms = memoizedKmsKeys({
      describe: async (ref) => {
        kmsCalls.push(ref);
        return { arn: `arn:${ref}`, state: 'Enabled', enabled: true };
      },
    });

    // Act
    await Promise.all([backend.read.get('s', null), backend.read.get('s'), backend.read.get('s', 'v1')]);
    await backend.read.put('s', { value: 'x' });
    await backend.read.put('s', { value: 'x' });
    await Promise.all([kms.describe('k'), kms.describe('k'), kms.describe('alias/k')]);

    // Assess
    expect(reads).toEqual(['s@current', 's@v1']);
    expect(writes).toEqual(['s', 's']);
    expect(kmsCalls).toEqual(['k', 'alias/k']);
  });

  it("asks a version's creation date once per (secret, version): every bucket on a static key ages it", async () => {
    // Prepare
    const asked: string[] = [];
    const backend = memoizedBackend({
      read: { backend: 'aws_sm', get: async () => ({}), put: async () => 'v' },
      admin: {
        backend: 'aws_sm',
        describe: async () => undefined,
        create: async () => {
          throw new Error('not used');
        },
        remove: async () => undefined,
        rotate: async () => 'v',
        versionCreatedAt: async (ref: string, versionId: string) => {
          asked.push(`${ref}@${versionId}`);
          return new Date(0);
        },
      },
    } as unknown as AdminSecretsBackend);

    // Act
    const dates = await Promise.all([
      backend.admin.versionCreatedAt?.('s', 'v1'),
      backend.admin.versionCreatedAt?.('s', 'v1'),
      backend.admin.versionCreatedAt?.('s', 'v2'),
    ]);

    // Assess
    expect(asked).toEqual(['s@v1', 's@v2']);
    expect(dates).toEqual([new Date(0), new Date(0), new Date(0)]);
  });
});
