import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSecretResolver } from '../../../../functions/shared/backends/kubernetes/file-secret-resolver';
import { BucketMisconfiguredError, SecretNotFoundError } from '../../../../functions/shared/errors';

describe('Class: FileSecretResolver', () => {
  const directory = () => mkdtempSync(join(tmpdir(), 'fbb-secrets-'));

  it('reads a mounted secret file and re-reads it when it changes', async () => {
    // Prepare
    const dir = directory();
    mkdirSync(join(dir, 'minio'));
    const file = join(dir, 'minio/data');
    writeFileSync(file, '{"access_key_id":"one","secret_access_key":"s"}');
    const resolver = new FileSecretResolver(dir);

    // Act
    const first = await resolver.get('minio/data');
    const again = await resolver.get('minio/data');
    writeFileSync(file, '{"access_key_id":"two","secret_access_key":"s"}');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const changed = await resolver.get('minio/data');

    // Assess
    expect(first.access_key_id).toBe('one');
    expect(again).toBe(first);
    expect(changed.access_key_id).toBe('two');
  });

  it('writes atomically, owner-only, and reads its own write', async () => {
    const dir = directory();
    const resolver = new FileSecretResolver(dir);
    await resolver.put('new/secret', { access_key_id: 'k', secret_access_key: 's' });
    expect((await resolver.get('new/secret')).access_key_id).toBe('k');
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'new/secret')).mode & 0o777).toBe(0o600);
  });

  it('refuses refs that leave the directory, version pins, and reports missing files', async () => {
    const resolver = new FileSecretResolver(directory());
    await expect(resolver.get('../etc/passwd')).rejects.toBeInstanceOf(BucketMisconfiguredError);
    await expect(resolver.get('a/../../b')).rejects.toBeInstanceOf(BucketMisconfiguredError);
    await expect(resolver.get('x', 'AWSPREVIOUS')).rejects.toBeInstanceOf(BucketMisconfiguredError);
    await expect(resolver.get('missing')).rejects.toBeInstanceOf(SecretNotFoundError);
  });

  it('refuses a ref with ".", ".." or empty segments even when it stays inside the directory', async () => {
    // Prepare: an admin key the presign path must never read, beside a bucket's folder.
    const dir = directory();
    mkdirSync(join(dir, 'gen3/fence/admin/minio'), { recursive: true });
    mkdirSync(join(dir, 'gen3/fence/x'), { recursive: true });
    writeFileSync(join(dir, 'gen3/fence/admin/minio/m'), '{"access_key_id":"admin","secret_access_key":"s"}');
    const resolver = new FileSecretResolver(dir);

    // Act
    const refs = [
      'gen3/fence/x/../admin/minio/m',
      './gen3/fence/admin/minio/m',
      'gen3/fence/./admin/minio/m',
      'gen3/fence//admin/minio/m',
      '/gen3/fence/admin/minio/m',
    ];
    const outcomes = await Promise.all(refs.map((ref) => resolver.get(ref).catch((error: Error) => error)));

    // Assess
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(BucketMisconfiguredError);
    expect((await resolver.get('gen3/fence/admin/minio/m')).access_key_id).toBe('admin');
  });

  it('refuses to write or describe through such a ref', async () => {
    const resolver = new FileSecretResolver(directory());
    await expect(
      resolver.put('gen3/fence/x/../admin/minio/m', { access_key_id: 'k', secret_access_key: 's' }),
    ).rejects.toBeInstanceOf(BucketMisconfiguredError);
    await expect(resolver.describe('gen3/fence/x/../admin/minio/m')).rejects.toBeInstanceOf(
      BucketMisconfiguredError,
    );
  });
});
