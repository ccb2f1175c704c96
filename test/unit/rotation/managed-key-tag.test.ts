import {
  MAX_DESCRIPTION_BYTES,
  readManagedKeyTag,
  secretArnHash,
  writeManagedKeyTag,
} from '../../../functions/shared/rotation/managed-key-tag';

const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/minio/dataset-AbCdEf';

describe('Codec: managed key tag (MinIO access key description)', () => {
  it('round-trips the ARN hash, the demotion time and the secret name', () => {
    // Prepare
    const demotedAt = new Date('2025-03-01T12:34:56.789Z');

    // Act
    const text = writeManagedKeyTag({
      arnHash: secretArnHash(arn),
      demotedAt,
      secretName: 'gen3/fence/minio/dataset',
    });

    // Assess
    expect(text).toBe(
      `fence-bucket-broker rotation arn-sha256=${secretArnHash(arn)} demoted=2025-03-01T12:34:56.789Z gen3/fence/minio/dataset`,
    );
    expect(readManagedKeyTag(text)).toEqual({
      arnHash: secretArnHash(arn),
      demotedAt,
      secretName: 'gen3/fence/minio/dataset',
    });
    expect(readManagedKeyTag(writeManagedKeyTag({ arnHash: secretArnHash(arn), secretName: 'x y' }))).toEqual(
      {
        arnHash: secretArnHash(arn),
        secretName: 'x y',
      },
    );
  });

  it('tells secrets of the same name in two accounts apart', () => {
    const other = arn.replace('123456789012', '210987654321');
    expect(secretArnHash(arn)).toMatch(/^[0-9a-f]{32}$/);
    expect(secretArnHash(other)).not.toBe(secretArnHash(arn));
  });

  it("cuts the name to MinIO's 256-byte limit, never through a character, and keeps the tag readable", () => {
    // Prepare
    const longName = `gen3/fence/${'é'.repeat(300)}`;

    // Act
    const text = writeManagedKeyTag({
      arnHash: secretArnHash(arn),
      demotedAt: new Date(0),
      secretName: longName,
    });

    // Assess
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_DESCRIPTION_BYTES);
    expect(text).not.toContain('\uFFFD');
    expect(readManagedKeyTag(text)).toMatchObject({ arnHash: secretArnHash(arn), demotedAt: new Date(0) });
  });

  it('reads no tag from other descriptions (the old name-based one included) and treats a bad stamp as none', () => {
    expect(readManagedKeyTag(undefined)).toBeUndefined();
    expect(readManagedKeyTag('fence-bucket-broker rotation of gen3/fence/minio/dataset')).toBeUndefined();
    expect(readManagedKeyTag('a key of someone else')).toBeUndefined();
    expect(
      readManagedKeyTag(`fence-bucket-broker rotation arn-sha256=${secretArnHash(arn)} demoted=yesterday n`),
    ).toEqual({ arnHash: secretArnHash(arn), secretName: 'n' });
  });
});
