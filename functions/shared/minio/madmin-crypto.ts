import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { argon2id } from 'hash-wasm';

/**
 * The encryption MinIO's admin API applies to request and response bodies ("madmin" payloads):
 *
 *   salt (32) | AEAD id (1) | nonce (8) | stream
 *
 * The key is derived from the caller's secret key: Argon2id (t=1, m=64 MiB, p=4) for ids 0x00
 * (AES-256-GCM) and 0x01 (ChaCha20-Poly1305), PBKDF2-SHA256 (8,192 rounds) for 0x02 (AES-256-GCM).
 * The stream is secure-io's sio framing: 16 KiB fragments, each sealed with its own nonce
 * (the 8-byte nonce followed by a little-endian 32-bit sequence number, data from 1 on) and with
 * associated data `flag | tag`, where flag is 0x80 on the final fragment and 0x00 before it, and
 * tag is the AEAD tag of an empty message under sequence number 0. The flag and the sequence
 * number stop fragments being dropped, reordered or truncated.
 */

export const MadminAlgorithm = {
  Argon2idAesGcm: 0x00,
  Argon2idChaCha20Poly1305: 0x01,
  Pbkdf2AesGcm: 0x02,
} as const;
export type MadminAlgorithmId = (typeof MadminAlgorithm)[keyof typeof MadminAlgorithm];

const SALT_BYTES = 32;
const NONCE_BYTES = 8;
const HEADER_BYTES = SALT_BYTES + 1 + NONCE_BYTES;
const FRAGMENT_BYTES = 16 * 1024;
const TAG_BYTES = 16;
const SEALED_FRAGMENT_BYTES = FRAGMENT_BYTES + TAG_BYTES;
const FLAG_MORE = 0x00;
const FLAG_FINAL = 0x80;

/** A madmin payload that is malformed or does not authenticate under the given secret. */
export class MadminCryptoError extends Error {
  override readonly name = 'MadminCryptoError';
}

const pbkdf2Async = promisify(pbkdf2);

/** The 32-byte key for `algorithm`, derived from the secret key and salt. */
export async function deriveMadminKey(
  secret: string,
  salt: Uint8Array,
  algorithm: MadminAlgorithmId,
): Promise<Buffer> {
  if (algorithm === MadminAlgorithm.Pbkdf2AesGcm) return pbkdf2Async(secret, salt, 8192, 32, 'sha256');
  // MinIO secret keys have at least 8 characters; hash-wasm refuses an empty password outright.
  if (secret.length === 0) throw new MadminCryptoError('an empty secret key cannot derive an Argon2id key');
  const key = await argon2id({
    password: secret,
    salt,
    iterations: 1,
    memorySize: 64 * 1024,
    parallelism: 4,
    hashLength: 32,
    outputType: 'binary',
  });
  return Buffer.from(key);
}

/**
 * Encrypts `plaintext` for the admin API. PBKDF2 is the default: MinIO accepts all three ids,
 * and Argon2id's 64 MiB derivation costs far more per call (`npm run bench` notes the figure).
 */
export async function encryptMadmin(
  secret: string,
  plaintext: Uint8Array,
  algorithm: MadminAlgorithmId = MadminAlgorithm.Pbkdf2AesGcm,
): Promise<Buffer> {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = await deriveMadminKey(secret, salt, algorithm);
  return Buffer.concat([salt, Buffer.of(algorithm), nonce, sealStream(algorithm, key, nonce, plaintext)]);
}

/** Decrypts an admin API payload; throws `MadminCryptoError` if it is malformed or not authentic. */
export async function decryptMadmin(secret: string, payload: Uint8Array): Promise<Buffer> {
  if (payload.length < HEADER_BYTES + TAG_BYTES) throw new MadminCryptoError('madmin payload is too short');
  const algorithm = payload[SALT_BYTES];
  if (algorithm !== 0x00 && algorithm !== 0x01 && algorithm !== 0x02) {
    throw new MadminCryptoError(`unknown madmin algorithm id ${String(algorithm)}`);
  }
  const salt = payload.subarray(0, SALT_BYTES);
  const nonce = payload.subarray(SALT_BYTES + 1, HEADER_BYTES);
  const key = await deriveMadminKey(secret, salt, algorithm);
  return openStream(algorithm, key, nonce, payload.subarray(HEADER_BYTES));
}

function aeadName(algorithm: MadminAlgorithmId): 'aes-256-gcm' | 'chacha20-poly1305' {
  return algorithm === MadminAlgorithm.Argon2idChaCha20Poly1305 ? 'chacha20-poly1305' : 'aes-256-gcm';
}

function fragmentNonce(nonce: Uint8Array, sequence: number): Buffer {
  const full = Buffer.alloc(NONCE_BYTES + 4);
  full.set(nonce);
  full.writeUInt32LE(sequence, NONCE_BYTES);
  return full;
}

function seal(
  algorithm: MadminAlgorithmId,
  key: Buffer,
  nonce: Buffer,
  plaintext: Uint8Array,
  aad: Buffer,
): Buffer {
  const cipher = createCipheriv(aeadName(algorithm) as 'aes-256-gcm', key, nonce, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(
  algorithm: MadminAlgorithmId,
  key: Buffer,
  nonce: Buffer,
  sealed: Uint8Array,
  aad: Buffer,
): Buffer {
  const decipher = createDecipheriv(aeadName(algorithm) as 'aes-256-gcm', key, nonce, {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new MadminCryptoError('madmin payload is not authentic (wrong secret key or tampered data)');
  }
}

/** `flag | tag(empty message, sequence 0)`: the associated data of every fragment. */
function associatedData(algorithm: MadminAlgorithmId, key: Buffer, nonce: Uint8Array, flag: number): Buffer {
  const tag = seal(algorithm, key, fragmentNonce(nonce, 0), Buffer.alloc(0), Buffer.alloc(0));
  return Buffer.concat([Buffer.of(flag), tag]);
}

function sealStream(
  algorithm: MadminAlgorithmId,
  key: Buffer,
  nonce: Uint8Array,
  plaintext: Uint8Array,
): Buffer {
  const more = associatedData(algorithm, key, nonce, FLAG_MORE);
  const final = associatedData(algorithm, key, nonce, FLAG_FINAL);
  const parts: Buffer[] = [];
  let offset = 0;
  let sequence = 1;
  // Every fragment but the last is full; the last holds the rest (1..16 KiB, or nothing if empty).
  while (plaintext.length - offset > FRAGMENT_BYTES) {
    parts.push(
      seal(
        algorithm,
        key,
        fragmentNonce(nonce, sequence++),
        plaintext.subarray(offset, offset + FRAGMENT_BYTES),
        more,
      ),
    );
    offset += FRAGMENT_BYTES;
  }
  parts.push(seal(algorithm, key, fragmentNonce(nonce, sequence), plaintext.subarray(offset), final));
  return Buffer.concat(parts);
}

function openStream(
  algorithm: MadminAlgorithmId,
  key: Buffer,
  nonce: Uint8Array,
  stream: Uint8Array,
): Buffer {
  const more = associatedData(algorithm, key, nonce, FLAG_MORE);
  const final = associatedData(algorithm, key, nonce, FLAG_FINAL);
  const parts: Buffer[] = [];
  let offset = 0;
  let sequence = 1;
  while (stream.length - offset > SEALED_FRAGMENT_BYTES) {
    parts.push(
      open(
        algorithm,
        key,
        fragmentNonce(nonce, sequence++),
        stream.subarray(offset, offset + SEALED_FRAGMENT_BYTES),
        more,
      ),
    );
    offset += SEALED_FRAGMENT_BYTES;
  }
  if (stream.length - offset < TAG_BYTES) throw new MadminCryptoError('madmin payload is truncated');
  parts.push(open(algorithm, key, fragmentNonce(nonce, sequence), stream.subarray(offset), final));
  return Buffer.concat(parts);
}
