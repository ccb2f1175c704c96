import { StoreEndpointPolicy } from '../../../functions/shared/network/store-endpoint-policy';
import { FENCE_DB_REGISTRY_TABLE } from '../../../functions/shared/registry/postgres-bucket-registry';
import { syncRegistry } from '../../../functions/shared/registry/registry-sync';
import { cli } from '../support/cli';
import { insertRows, mirrorItems, type SyncBed, syncBed } from '../support/registry-sync-bed';

/** A static-mode MinIO row of Fence DB, written with SQL as any Fence DB writer could. */
async function insertStaticRow(
  bed: SyncBed,
  name: string,
  secretRef: string,
  maxExpiresIn = 3600,
  endpoint = 'https://minio.example.org',
): Promise<void> {
  await bed.db.pool.query(
    `INSERT INTO ${FENCE_DB_REGISTRY_TABLE}
       (id, bucket_name, provider, auth_mode, secrets_backend, secret_ref, endpoint, allowed_ops, max_expires_in)
     VALUES (gen_random_uuid(), $1, 'minio', 'static', 'aws_sm', $2, $4, ARRAY['download'], $3)`,
    [name, secretRef, maxExpiresIn, endpoint],
  );
}

describe('Function: syncRegistry guards (PostgreSQL → DynamoDB on moto)', () => {
  let bed: SyncBed;

  beforeEach(async () => {
    bed = await syncBed();
  }, 60_000);

  afterEach(async () => {
    await bed.dispose();
  }, 60_000);

  describe('record policy: Fence DB is not a second admin', () => {
    it('reports, and does not mirror, rows whose secret is under the admin sub-path or outside the prefix, without repeating the ref', async () => {
      // Prepare
      await insertStaticRow(bed, 'admin-key', 'gen3/fence/admin/minio/root');
      await insertStaticRow(bed, 'elsewhere', 'payments/prod/keys');
      await insertStaticRow(bed, 'fine', 'gen3/fence/minio/fine');

      // Act
      const report = await syncRegistry(bed.source, bed.mirror);

      // Assess
      expect(report).toMatchObject({ inserted: 1, failed: 2 });
      expect(
        report.failures.map(({ bucket_name, action, code, field }) => ({ bucket_name, action, code, field })),
      ).toEqual([
        { bucket_name: 'admin-key', action: 'policy', code: 'secret_under_admin_path', field: 'secret_ref' },
        { bucket_name: 'elsewhere', action: 'policy', code: 'secret_outside_prefix', field: 'secret_ref' },
      ]);
      expect(JSON.stringify(report)).not.toMatch(/minio\/root|payments/);
      expect([...(await mirrorItems(bed.tableName)).keys()]).toEqual(['fine']);
    }, 60_000);

    it('removes the mirror item of a bucket whose row is re-pointed at the admin secret (fail closed)', async () => {
      // Prepare: mirrored while good, then re-pointed in Fence DB
      await insertStaticRow(bed, 'victim', 'gen3/fence/minio/victim');
      await insertStaticRow(bed, 'bystander', 'gen3/fence/minio/bystander');
      await syncRegistry(bed.source, bed.mirror);
      await bed.db.pool.query(
        `UPDATE ${FENCE_DB_REGISTRY_TABLE} SET secret_ref = 'gen3/fence/minio/../admin/minio/root' WHERE bucket_name = 'victim'`,
      );

      // Act
      const report = await syncRegistry(bed.source, bed.mirror);

      // Assess: the row is reported as unreadable (the schema refuses a `..` ref) and neither copied
      // nor deleted; re-pointed with a normal ref, it is removed
      expect(report.failures).toMatchObject([{ bucket_name: 'victim', action: 'read' }]);
      await bed.db.pool.query(
        `UPDATE ${FENCE_DB_REGISTRY_TABLE} SET secret_ref = 'gen3/fence/admin/minio/root' WHERE bucket_name = 'victim'`,
      );
      const removal = await syncRegistry(bed.source, bed.mirror);
      expect(removal).toMatchObject({ deleted: 1, inserted: 0, updated: 0, failed: 1 });
      expect(removal.failures).toMatchObject([
        { bucket_name: 'victim', action: 'policy', code: 'secret_under_admin_path' },
      ]);
      expect(removal.changes).toEqual([
        { action: 'delete', bucket_name: 'victim', mirror_revision: 1, reason: 'policy' },
      ]);
      expect([...(await mirrorItems(bed.tableName)).keys()]).toEqual(['bystander']);
    }, 60_000);

    it("reports rows above the deployment's max_expires_in cap and leaves their mirror item alone", async () => {
      // Prepare
      await insertStaticRow(bed, 'long-urls', 'gen3/fence/minio/long', 3600);
      await syncRegistry(bed.source, bed.mirror);
      await bed.db.pool.query(
        `UPDATE ${FENCE_DB_REGISTRY_TABLE} SET max_expires_in = 86400 WHERE bucket_name = 'long-urls'`,
      );
      await insertStaticRow(bed, 'new-long', 'gen3/fence/minio/new', 7200);

      // Act
      const report = await syncRegistry(bed.source, bed.mirror, {
        policy: { secretsPrefix: 'gen3/fence/', maxExpiresInCap: 3600 },
      });

      // Assess
      expect(report).toMatchObject({ inserted: 0, updated: 0, deleted: 0, failed: 2 });
      expect(report.failures).toMatchObject([
        {
          bucket_name: 'long-urls',
          action: 'policy',
          code: 'max_expires_in_above_cap',
          field: 'max_expires_in',
        },
        {
          bucket_name: 'new-long',
          action: 'policy',
          code: 'max_expires_in_above_cap',
          field: 'max_expires_in',
        },
      ]);
      const items = await mirrorItems(bed.tableName);
      expect(items.get('long-urls')).toMatchObject({ max_expires_in: 3600, revision: 1 });
      expect(items.has('new-long')).toBe(false);
    }, 60_000);
    it('reports, and does not mirror, rows whose endpoint the store-endpoint policy refuses (the admin API would)', async () => {
      // Prepare: the metadata service, a private address, cleartext http; and an allowed endpoint
      await insertStaticRow(bed, 'metadata', 'gen3/fence/minio/a', 3600, 'https://169.254.169.254/latest');
      await insertStaticRow(bed, 'private', 'gen3/fence/minio/b', 3600, 'https://10.0.0.5:9000');
      await insertStaticRow(bed, 'cleartext', 'gen3/fence/minio/c', 3600, 'http://minio.example.org');
      await insertStaticRow(bed, 'public', 'gen3/fence/minio/d');

      // Act: the policy the sync function and the CLI build, https to public addresses only
      const report = await syncRegistry(bed.source, bed.mirror, {
        policy: { secretsPrefix: 'gen3/fence/', maxExpiresInCap: 3600, endpoints: new StoreEndpointPolicy() },
      });

      // Assess
      expect(report).toMatchObject({ inserted: 1, failed: 3 });
      expect(report.failures.map(({ bucket_name, code, field }) => [bucket_name, code, field])).toEqual([
        ['cleartext', 'endpoint_not_allowed', 'endpoint'],
        ['metadata', 'endpoint_not_allowed', 'endpoint'],
        ['private', 'endpoint_not_allowed', 'endpoint'],
      ]);
      expect(JSON.stringify(report)).not.toMatch(/169\.254|10\.0\.0\.5|minio\.example/);
      expect([...(await mirrorItems(bed.tableName)).keys()]).toEqual(['public']);
    }, 60_000);
  });

  describe('delete cap', () => {
    it('an emptied Fence DB deletes nothing, and reports every delete it held back', async () => {
      // Prepare
      await insertRows(bed.db, 3);
      await syncRegistry(bed.source, bed.mirror);
      await bed.db.pool.query(`DELETE FROM ${FENCE_DB_REGISTRY_TABLE}`);

      // Act
      const report = await syncRegistry(bed.source, bed.mirror);

      // Assess
      expect(report).toMatchObject({ deleted: 0, failed: 3 });
      expect(report.changes).toEqual([]);
      expect(report.failures.map((failure) => [failure.bucket_name, failure.action, failure.code])).toEqual([
        ['bucket-00001', 'delete', 'delete_cap_exceeded'],
        ['bucket-00002', 'delete', 'delete_cap_exceeded'],
        ['bucket-00003', 'delete', 'delete_cap_exceeded'],
      ]);
      expect((await mirrorItems(bed.tableName)).size).toBe(3);
    }, 60_000);

    it('holds back deletes past 10 % of the mirror, but a 3-bucket registry can still drop one', async () => {
      // Prepare: 20 buckets, 3 dropped (the cap is 2); and a registry of 3, 1 dropped
      await insertRows(bed.db, 20);
      await insertRows(bed.db, 3, 'small');
      await syncRegistry(bed.source, bed.mirror);
      await bed.db.pool.query(
        `DELETE FROM ${FENCE_DB_REGISTRY_TABLE} WHERE bucket_name IN ('bucket-00001', 'bucket-00002', 'bucket-00003')`,
      );

      // Act
      const held = await syncRegistry(bed.source, bed.mirror);

      // Assess: 3 of 23 is above the cap of 2: nothing deleted
      expect(held).toMatchObject({ deleted: 0, failed: 3 });
      expect((await mirrorItems(bed.tableName)).size).toBe(23);
      expect(held.failures[0]?.error).toContain('3 deletes exceed the cap of 2');

      // And: one delete of a 3-bucket mirror is within the floor
      const small = await syncBed();
      try {
        await insertRows(small.db, 3);
        await syncRegistry(small.source, small.mirror);
        await small.db.pool.query(
          `DELETE FROM ${FENCE_DB_REGISTRY_TABLE} WHERE bucket_name = 'bucket-00002'`,
        );
        const dropped = await syncRegistry(small.source, small.mirror);
        expect(dropped).toMatchObject({ deleted: 1, failed: 0 });
        expect([...(await mirrorItems(small.tableName)).keys()].sort()).toEqual([
          'bucket-00001',
          'bucket-00003',
        ]);
      } finally {
        await small.dispose();
      }
    }, 120_000);

    it('fence-buckets sync --max-delete-fraction 1 deletes what the operator means to delete', async () => {
      // Prepare
      await insertRows(bed.db, 4);
      await syncRegistry(bed.source, bed.mirror);
      await bed.db.pool.query(`DELETE FROM ${FENCE_DB_REGISTRY_TABLE}`);
      const args = ['--table', bed.tableName, 'sync', '--database-url', bed.db.url];

      // Act
      // The run's PostgreSQL listens on loopback without TLS.
      const plainText = { FENCE_DB_SSL: 'disable' };
      const refused = await cli(args, plainText);
      const meant = await cli([...args, '--max-delete-fraction', '1'], plainText);
      const invalid = await cli([...args, '--max-delete-fraction', '2'], plainText);

      // Assess
      expect(refused.code).toBe(1);
      expect(refused.out).toContain('delete_cap_exceeded');
      expect(meant.code).toBe(0);
      expect((await mirrorItems(bed.tableName)).size).toBe(0);
      expect(invalid.code).toBe(2);
      expect(invalid.err).toContain('--max-delete-fraction must be a number from 0 to 1');
    }, 120_000);
  });
});
