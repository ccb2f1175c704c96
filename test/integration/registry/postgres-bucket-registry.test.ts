import { BucketRecordShapeError } from '../../../functions/shared/errors';
import {
  FENCE_DB_REGISTRY_TABLE,
  PostgresBucketRegistry,
} from '../../../functions/shared/registry/postgres-bucket-registry';
import { minioRegistration, roleRegistration } from '../../fixtures/bucket-records';
import { type FenceDbUnderTest, freshFenceDb } from '../support/fence-db';
import { bucketRegistryContract } from './bucket-registry-contract';

describe('Class: PostgresBucketRegistry (PostgreSQL)', () => {
  bucketRegistryContract(async () => {
    const db = await freshFenceDb();
    const registry = PostgresBucketRegistry.connect({ connectionString: db.url });
    return {
      registry,
      dispose: async () => {
        await registry.close();
        await db.drop();
      },
    };
  });

  describe('what the database keeps itself', () => {
    let db: FenceDbUnderTest;
    let registry: PostgresBucketRegistry;

    beforeEach(async () => {
      db = await freshFenceDb();
      registry = PostgresBucketRegistry.connect({ connectionString: db.url });
    }, 60_000);

    afterEach(async () => {
      await registry.close();
      await db.drop();
    }, 60_000);

    it('gives a row written by hand revision 1, and each later edit by hand the next revision', async () => {
      // Prepare
      const created = await registry.create(roleRegistration());

      // Act: psql-style writes that name a revision and timestamps of their own
      await db.pool.query(
        `UPDATE ${FENCE_DB_REGISTRY_TABLE} SET status = 'suspended', revision = 40, created_at = '2000-01-01' WHERE id = $1`,
        [created.id],
      );
      await db.pool.query(
        `INSERT INTO ${FENCE_DB_REGISTRY_TABLE} (id, bucket_name, provider, auth_mode, role_arn, allowed_ops, revision)
         VALUES ($1, 'by-hand', 'aws', 'role', $2, ARRAY['download'], 7)`,
        [crypto.randomUUID(), created.role_arn],
      );

      // Assess
      const edited = await registry.getById(created.id);
      expect(edited).toMatchObject({ status: 'suspended', revision: 2, created_at: created.created_at });
      expect(edited?.updated_at !== undefined && edited.updated_at >= created.updated_at).toBe(true);
      expect(await registry.getByName('by-hand')).toMatchObject({ revision: 1, status: 'active' });
    });

    it('refuses values outside the record’s enumerations at the database', async () => {
      // Prepare
      const created = await registry.create(minioRegistration());

      // Act
      const outcomes = await Promise.allSettled([
        db.pool.query(`UPDATE ${FENCE_DB_REGISTRY_TABLE} SET status = 'paused' WHERE id = $1`, [created.id]),
        db.pool.query(`UPDATE ${FENCE_DB_REGISTRY_TABLE} SET allowed_ops = ARRAY['delete'] WHERE id = $1`, [
          created.id,
        ]),
        db.pool.query(`UPDATE ${FENCE_DB_REGISTRY_TABLE} SET allowed_ops = '{}' WHERE id = $1`, [created.id]),
        db.pool.query(`UPDATE ${FENCE_DB_REGISTRY_TABLE} SET provider = 'ftp' WHERE id = $1`, [created.id]),
        db.pool.query(`UPDATE ${FENCE_DB_REGISTRY_TABLE} SET bucket_name = 'Upper' WHERE id = $1`, [
          created.id,
        ]),
      ]);

      // Assess
      expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(5).fill('rejected'));
      expect(
        outcomes.map((outcome) => ((outcome as PromiseRejectedResult).reason as { code?: string }).code),
      ).toEqual(Array(5).fill('23514'));
      expect(await registry.getById(created.id)).toEqual(created);
    });

    it('reads a row that breaks the record rules as bucket_misconfigured for that bucket alone', async () => {
      // Prepare: a static bucket without a secret_ref, which only the record schema forbids
      const good = await registry.create(roleRegistration());
      await db.pool.query(
        `INSERT INTO ${FENCE_DB_REGISTRY_TABLE} (id, bucket_name, provider, auth_mode, secrets_backend, endpoint, allowed_ops)
         VALUES ($1, 'broken-bucket', 'minio', 'static', 'aws_sm', 'http://127.0.0.1:9000', ARRAY['download'])`,
        [crypto.randomUUID()],
      );

      // Act
      const read = registry.getByName('broken-bucket');
      const batches = [];
      for await (const batch of registry.entries(1)) batches.push(batch);

      // Assess
      await expect(read).rejects.toBeInstanceOf(BucketRecordShapeError);
      await expect(read).rejects.toMatchObject({ code: 'bucket_misconfigured', field: 'secret_ref' });
      expect(await registry.getByName(good.bucket_name)).toEqual(good);
      expect(batches).toHaveLength(2);
      expect(batches.flat().map((entry) => [entry.bucket_name, entry.record !== undefined])).toEqual([
        ['broken-bucket', false],
        [good.bucket_name, true],
      ]);
    });

    it('answers 503 registry_unavailable when the database cannot be reached', async () => {
      // Prepare: a port nothing listens on
      const unreachable = PostgresBucketRegistry.connect({
        connectionString: 'postgres://fence@127.0.0.1:1/fence',
        connectionTimeoutMillis: 2000,
      });

      // Act
      const read = unreachable.getByName('dataset-aws');

      // Assess
      await expect(read).rejects.toMatchObject({ code: 'registry_unavailable', status: 503 });
      await unreachable.close();
    });
  });
});
