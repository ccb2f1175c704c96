import {
  BucketExistsError,
  InvalidRequestError,
  RevisionConflictError,
  UnknownBucketError,
} from '../../../functions/shared/errors';
import type { BucketRegistry } from '../../../functions/shared/registry/bucket-registry';
import { minioRegistration, roleRegistration } from '../../fixtures/bucket-records';
import { uniqueName } from '../support/aws';

/** A registry under test, empty, and how to dispose of it. */
export interface RegistryUnderTest {
  registry: BucketRegistry;
  dispose?: () => Promise<void>;
}

/**
 * The behaviour every `BucketRegistry` owes its callers (the admin core, the sync, the presign
 * path), as one suite each implementation runs against its real store. `create` gives a new,
 * empty registry for each test.
 */
export function bucketRegistryContract(create: () => Promise<RegistryUnderTest>): void {
  describe('Contract: BucketRegistry', () => {
    let subject: RegistryUnderTest;
    let registry: BucketRegistry;

    beforeEach(async () => {
      subject = await create();
      registry = subject.registry;
    }, 60_000);

    afterEach(async () => {
      await subject.dispose?.();
    }, 60_000);

    it('stores a record at revision 1 and reads it back by name and by id', async () => {
      // Act
      const created = await registry.create(minioRegistration());
      const byName = await registry.getByName('dataset-minio');
      const byId = await registry.getById(created.id);

      // Assess
      expect(created.revision).toBe(1);
      expect(created.status).toBe('active');
      expect(created.max_expires_in).toBe(3600);
      expect(created.updated_at).toBe(created.created_at);
      expect(byName).toEqual(created);
      expect(byId).toEqual(created);
      expect(await registry.getByName('no-such-bucket')).toBeUndefined();
      expect(await registry.getById(crypto.randomUUID())).toBeUndefined();
      expect(await registry.getById('not-a-uuid')).toBeUndefined();
    });

    it('keeps the id a registration gives', async () => {
      // Prepare
      const id = crypto.randomUUID();

      // Act
      const created = await registry.create(roleRegistration({ id }));

      // Assess
      expect(created.id).toBe(id);
      expect(await registry.getById(id)).toEqual(created);
    });

    it('refuses a second record with the same bucket name', async () => {
      // Prepare
      const first = await registry.create(minioRegistration());

      // Act
      const second = registry.create(minioRegistration({ secret_ref: 'gen3/fence/minio/other' }));

      // Assess
      await expect(second).rejects.toBeInstanceOf(BucketExistsError);
      expect(await registry.getByName('dataset-minio')).toEqual(first);
    });

    it('applies an update at the current revision and refuses one at a stale revision', async () => {
      // Prepare
      const created = await registry.create(roleRegistration());

      // Act
      const suspended = await registry.update(created.id, 1, { status: 'suspended' });
      const stale = registry.update(created.id, 1, { status: 'active' });

      // Assess
      expect(suspended).toMatchObject({ status: 'suspended', revision: 2, created_at: created.created_at });
      expect(suspended.updated_at >= created.updated_at).toBe(true);
      await expect(stale).rejects.toBeInstanceOf(RevisionConflictError);
      expect(await registry.getByName(created.bucket_name)).toEqual(suspended);
    });

    it('refuses an update of a record that does not exist', async () => {
      await expect(registry.update(crypto.randomUUID(), 1, { status: 'suspended' })).rejects.toBeInstanceOf(
        UnknownBucketError,
      );
    });

    it('lets exactly one of two racing updates at the same revision win', async () => {
      // Prepare
      const created = await registry.create(minioRegistration());

      // Act
      const outcomes = await Promise.allSettled([
        registry.update(created.id, 1, { secret_version: 'AWSPREVIOUS' }),
        registry.update(created.id, 1, { status: 'suspended' }),
      ]);

      // Assess
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const rejected = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(RevisionConflictError);
      expect((await registry.getByName(created.bucket_name))?.revision).toBe(2);
    });

    it('refuses an update that would break the record as a whole, and changes nothing', async () => {
      // Prepare
      const created = await registry.create(minioRegistration());

      // Act
      const broken = registry.update(created.id, 1, { secret_ref: null });

      // Assess
      await expect(broken).rejects.toMatchObject({ code: 'invalid_request', field: 'secret_ref' });
      expect(await registry.getByName(created.bucket_name)).toEqual(created);
    });

    it('lists an empty registry as one page without a cursor', async () => {
      expect(await registry.list()).toEqual({ records: [] });
    });

    it('returns 1,000 records complete through pagination', async () => {
      // Prepare
      const names = Array.from({ length: 1000 }, (_, index) => `bucket-${String(index).padStart(4, '0')}`);
      for (let start = 0; start < names.length; start += 50) {
        await Promise.all(
          names
            .slice(start, start + 50)
            .map((name) => registry.create(roleRegistration({ bucket_name: name }))),
        );
      }

      // Act
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await registry.list({ limit: 128, cursor });
        seen.push(...page.records.map((record) => record.bucket_name));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined);

      // Assess
      expect(pages).toBeGreaterThanOrEqual(8);
      expect(seen).toHaveLength(1000);
      expect(new Set(seen)).toEqual(new Set(names));
    }, 120_000);

    it('refuses a cursor it did not issue and a page size out of range', async () => {
      await expect(registry.list({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(
        registry.list({ cursor: Buffer.from('{"x":1}').toString('base64url') }),
      ).rejects.toMatchObject({ field: 'cursor' });
      await expect(registry.list({ limit: 0 })).rejects.toMatchObject({ field: 'limit' });
      await expect(registry.list({ limit: 1001 })).rejects.toMatchObject({ field: 'limit' });
    });

    it('refuses a registration that breaks the schema, naming the field', async () => {
      const bad = registry.create(minioRegistration({ bucket_name: uniqueName('UPPER') }));
      await expect(bad).rejects.toMatchObject({ code: 'invalid_request', field: 'bucket_name' });
    });
  });
}
