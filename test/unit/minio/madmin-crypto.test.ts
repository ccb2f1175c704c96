import { randomBytes } from 'node:crypto';
import {
  decryptMadmin,
  encryptMadmin,
  MadminAlgorithm,
  type MadminAlgorithmId,
  MadminCryptoError,
} from '../../../functions/shared/minio/madmin-crypto';
import { MADMIN_DECRYPT_VECTORS } from '../../fixtures/madmin-vectors';

describe('Module: madmin-crypto', () => {
  // The vectors with an empty password are left out: hash-wasm's Argon2id refuses an empty
  // password, and MinIO secret keys are never empty (8 characters at least).
  const withPassword = MADMIN_DECRYPT_VECTORS.filter((vector) => vector.password !== '');

  it('uses the published vectors that have a password', () => {
    expect(withPassword).toHaveLength(2);
  });

  it.each(withPassword.map((vector, index) => [index, vector] as const))(
    "decrypts madmin-go's published ciphertext %i",
    async (_index, vector) => {
      const ciphertext = Buffer.from(vector.hex, 'hex');
      const plaintext = await decryptMadmin(vector.password, ciphertext);
      // One fragment each: the plaintext is what is left after the 41-byte header and one tag.
      expect(plaintext.length).toBe(ciphertext.length - 41 - 16);
      // madmin-go's tests encrypt zero-filled buffers.
      expect(plaintext.every((byte) => byte === 0)).toBe(true);
    },
    30_000,
  );

  it('refuses an empty secret for Argon2id with a clear error', async () => {
    const vector = MADMIN_DECRYPT_VECTORS[0];
    await expect(decryptMadmin('', Buffer.from(vector?.hex ?? '', 'hex'))).rejects.toThrow(
      'empty secret key',
    );
  });

  it('refuses a published ciphertext under the wrong password', async () => {
    const vector = MADMIN_DECRYPT_VECTORS[2];
    await expect(
      decryptMadmin('not the password', Buffer.from(vector?.hex ?? '', 'hex')),
    ).rejects.toBeInstanceOf(MadminCryptoError);
  }, 30_000);

  const sizes = [0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 3 * 16 * 1024, 200_000];
  it.each([
    MadminAlgorithm.Pbkdf2AesGcm,
    MadminAlgorithm.Argon2idAesGcm,
    MadminAlgorithm.Argon2idChaCha20Poly1305,
  ] as MadminAlgorithmId[])(
    'round-trips payloads of every fragment boundary with algorithm %i',
    async (algorithm) => {
      for (const size of sizes) {
        const plaintext = randomBytes(size);
        const sealed = await encryptMadmin('s3cr3t-key', plaintext, algorithm);
        expect(sealed[32]).toBe(algorithm);
        expect(sealed.length).toBe(41 + size + 16 * Math.max(1, Math.ceil(size / (16 * 1024))));
        expect((await decryptMadmin('s3cr3t-key', sealed)).equals(plaintext)).toBe(true);
      }
    },
    60_000,
  );

  it('detects a flipped bit, a dropped final fragment, swapped fragments and a truncated tail', async () => {
    const plaintext = randomBytes(3 * 16 * 1024 + 5);
    const sealed = await encryptMadmin('key', plaintext);
    const header = sealed.subarray(0, 41);
    const fragment = (index: number) => sealed.subarray(41 + index * 16400, 41 + (index + 1) * 16400);
    const flipped = Buffer.from(sealed);
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    const attempts = [
      flipped,
      Buffer.concat([header, fragment(0), fragment(1), fragment(2)]),
      Buffer.concat([header, fragment(1), fragment(0), fragment(2), sealed.subarray(41 + 3 * 16400)]),
      sealed.subarray(0, sealed.length - 3),
    ];
    for (const attempt of attempts)
      await expect(decryptMadmin('key', attempt)).rejects.toBeInstanceOf(MadminCryptoError);
  });
});
