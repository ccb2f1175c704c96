import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BucketExistsError,
  BucketMisconfiguredError,
  RevisionConflictError,
} from '../../../functions/shared/errors';
import { FileBucketRegistry } from '../../../functions/shared/registry/file-bucket-registry';
import { minioRegistration, roleRegistration } from '../../fixtures/bucket-records';

describe('Class: FileBucketRegistry', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'fbb-registry-')), 'registry.json');

  it('creates, refuses duplicates, and guards updates by revision', async () => {
    const registry = new FileBucketRegistry(file());
    const created = await registry.create(minioRegistration());
    await expect(registry.create(minioRegistration())).rejects.toBeInstanceOf(BucketExistsError);
    const updated = await registry.update(created.id, 1, { status: 'suspended' });
    await expect(registry.update(created.id, 1, { status: 'active' })).rejects.toBeInstanceOf(
      RevisionConflictError,
    );
    expect(updated.revision).toBe(2);
    expect(await registry.getById(created.id)).toEqual(updated);
  });

  it('pages through every record', async () => {
    const registry = new FileBucketRegistry(file());
    for (let index = 0; index < 25; index++)
      await registry.create(roleRegistration({ bucket_name: `bucket-${String(index).padStart(2, '0')}` }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await registry.list({ limit: 7, cursor });
      seen.push(...page.records.map((record) => record.bucket_name));
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
  });

  it('sees a change made to the file by someone else', async () => {
    const path = file();
    const registry = new FileBucketRegistry(path);
    const created = await registry.create(minioRegistration());
    writeFileSync(path, JSON.stringify({ records: [{ ...created, status: 'suspended', revision: 2 }] }));
    const { utimesSync } = await import('node:fs');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect((await registry.getByName(created.bucket_name))?.status).toBe('suspended');
  });

  it('fails only the bucket whose record breaks the schema, ignores unknown attributes, and keeps the broken record on writes', async () => {
    // Prepare
    const path = file();
    const registry = new FileBucketRegistry(path);
    const good = await registry.create(minioRegistration());
    const canary = `canary-${crypto.randomUUID()}`;
    const broken = { ...good, id: canary, bucket_name: 'broken-bucket' };
    const extra = { ...good, id: crypto.randomUUID(), bucket_name: 'extra-bucket', note: canary };
    writeFileSync(path, JSON.stringify({ records: [good, broken, extra] }));
    const fresh = new FileBucketRegistry(path);

    // Act
    const failure = fresh.getByName('broken-bucket');
    const withExtra = await fresh.getByName('extra-bucket');
    await fresh.update(good.id, 1, { status: 'suspended' });

    // Assess
    await expect(failure).rejects.toBeInstanceOf(BucketMisconfiguredError);
    await expect(failure).rejects.toThrow(
      'the registry record of bucket "broken-bucket" is malformed: field "id"',
    );
    await expect(failure).rejects.not.toThrow(canary);
    expect(withExtra).not.toHaveProperty('note');
    expect((await fresh.getByName(good.bucket_name))?.status).toBe('suspended');
    expect(readFileSync(path, 'utf8')).toContain(canary);
    await expect(fresh.create(minioRegistration({ bucket_name: 'broken-bucket' }))).rejects.toBeInstanceOf(
      BucketExistsError,
    );
  });

  it('lists malformed records apart, by bucket and field, when asked to tolerate them (the drift check)', async () => {
    // Prepare
    const path = file();
    const good = await new FileBucketRegistry(path).create(minioRegistration());
    writeFileSync(
      path,
      JSON.stringify({ records: [good, { ...good, bucket_name: 'broken-bucket', allowed_ops: ['delete'] }] }),
    );
    const registry = new FileBucketRegistry(path);

    // Act
    const tolerant = await registry.list({ tolerateMalformed: true });
    const plain = await registry.list();

    // Assess
    expect(tolerant.records.map((record) => record.bucket_name)).toEqual([good.bucket_name]);
    expect(tolerant.malformed?.map((error) => [error.bucketName, error.field])).toEqual([
      ['broken-bucket', 'allowed_ops.0'],
    ]);
    expect(plain.malformed).toBeUndefined();
  });
});
