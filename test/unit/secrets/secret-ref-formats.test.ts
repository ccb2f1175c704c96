import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { GcpSecretManagerResolver } from '../../../functions/shared/backends/gcp/gcp-secret-manager-resolver';
import { GoogleAccessTokens } from '../../../functions/shared/backends/gcp/google-credentials';
import { vaultLocation } from '../../../functions/shared/backends/vault/vault-resolver';
import { BucketMisconfiguredError } from '../../../functions/shared/errors';
import { isNormalSecretRef, normalizeSecretRef } from '../../../functions/shared/secrets/secret-ref-formats';

const DOT_SEGMENT_REFS = [
  'gen3/fence/x/../admin/minio/m',
  'gen3/fence/./admin/minio/m',
  'gen3/fence//admin/minio/m',
  '/gen3/fence/admin/minio/m',
  'gen3/fence/admin/minio/m/',
  '..',
  '',
];

describe('Function: isNormalSecretRef', () => {
  it('accepts refs in their normal form, dots inside a segment included', () => {
    for (const ref of [
      'gen3/fence/minio/b',
      'secret/gen3/fence/b',
      'projects/p/secrets/s',
      'a.b/..data/c.json',
    ]) {
      expect(isNormalSecretRef(ref)).toBe(true);
    }
  });

  it.each(DOT_SEGMENT_REFS)('refuses %p', (ref) => {
    expect(isNormalSecretRef(ref)).toBe(false);
  });

  it('normalizes as a path-based backend resolves', () => {
    expect(normalizeSecretRef('gen3/fence/x/../admin/minio/m')).toBe('gen3/fence/admin/minio/m');
    expect(normalizeSecretRef('gen3/fence/../../../etc/passwd')).toBe('etc/passwd');
  });
});

describe('Every backend refuses such a ref again when it reads', () => {
  const ref = 'gen3/fence/x/../admin/minio/m';

  it('aws_sm, before any request', async () => {
    const resolver = new AwsSecretsManagerResolver({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1' });
    await expect(resolver.get(ref)).rejects.toBeInstanceOf(BucketMisconfiguredError);
  });

  it('vault', () => {
    expect(() => vaultLocation(`secret/${ref}`)).toThrow(BucketMisconfiguredError);
  });

  it('gcp_sm', async () => {
    const resolver = new GcpSecretManagerResolver({
      endpoint: 'http://127.0.0.1:9',
      tokens: new GoogleAccessTokens({
        description: 'none',
        fetch: () => Promise.reject(new Error('no token in this test')),
      }),
    });
    await expect(resolver.get(`projects/p/secrets/${ref}`)).rejects.toBeInstanceOf(BucketMisconfiguredError);
  });
});
