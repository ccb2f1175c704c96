import { execFileSync } from 'node:child_process';

/**
 * Writes a key and a self-signed certificate for 127.0.0.1 and localhost (or the names given),
 * valid for a day: the TLS servers the tests start (LocalStack, MinIO behind a private CA) serve
 * it, and clients trust the certificate itself as their CA. Throws openssl's error (stderr
 * attached) when it fails.
 */
export function writeSelfSignedCertificate(
  keyFile: string,
  certificateFile: string,
  names: { commonName: string; subjectAltName: string } = {
    commonName: '127.0.0.1',
    subjectAltName: 'IP:127.0.0.1,DNS:localhost',
  },
): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${names.commonName}`,
      '-addext',
      `subjectAltName=${names.subjectAltName}`,
      '-keyout',
      keyFile,
      '-out',
      certificateFile,
    ],
    { stdio: 'pipe' },
  );
}
