import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../../functions/shared/errors';
import {
  fenceDbConnectionFromSecret,
  fenceDbConnectionFromUrl,
} from '../../../functions/shared/registry/fence-db-connection';

const URL_WITH_PASSWORD = 'postgres://fence:s3cr3t-pw@fence-db.example.org:5432/fence';

/** The error `act` throws (the test fails when it throws none). */
function thrown(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('Function: fenceDbConnectionFromUrl', () => {
  it('verifies CA and host name under verify, and hands node-postgres a URL without TLS parameters', () => {
    // Act
    const settings = fenceDbConnectionFromUrl(
      `${URL_WITH_PASSWORD}?application_name=fbb&sslmode=verify-full&ssl=true`,
      'verify',
    );

    // Assess: node-postgres would let a URL's sslmode replace `ssl`; none is left for it to read.
    expect(settings.connectionString).toBe(`${URL_WITH_PASSWORD}?application_name=fbb`);
    expect(settings.ssl).toEqual({ rejectUnauthorized: true });
  });

  it.each([
    ['verify', 'sslmode=disable'],
    ['verify', 'sslmode=prefer'],
    ['verify', 'sslmode=require'],
    ['verify', 'sslmode=no-verify'],
    ['verify', 'sslmode=verify-ca'],
    ['verify', 'ssl=false'],
    ['verify', 'ssl=0'],
    ['require', 'sslmode=disable'],
    ['require', 'sslmode=allow'],
  ] as const)('refuses, under %s, a URL with %s, naming both and not the password', (mode, parameter) => {
    // Act
    const error = thrown(() => fenceDbConnectionFromUrl(`${URL_WITH_PASSWORD}?${parameter}`, mode));

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(`asks for ${parameter}, weaker than FENCE_DB_SSL=${mode}`);
    expect(error.message).not.toContain('s3cr3t-pw');
  });

  it('obeys a URL asking for more than the mode: verify-ca checks the CA only, verify-full the host too', () => {
    // Act
    const verifyCa = fenceDbConnectionFromUrl(`${URL_WITH_PASSWORD}?sslmode=verify-ca`, 'require');
    const verifyFull = fenceDbConnectionFromUrl(`${URL_WITH_PASSWORD}?sslmode=verify-full`, 'disable');
    const required = fenceDbConnectionFromUrl(URL_WITH_PASSWORD, 'require');
    const disabled = fenceDbConnectionFromUrl(`${URL_WITH_PASSWORD}?sslmode=disable`, 'disable');

    // Assess
    expect(verifyCa.ssl).toMatchObject({
      rejectUnauthorized: true,
      checkServerIdentity: expect.any(Function),
    });
    expect(verifyFull.ssl).toEqual({ rejectUnauthorized: true });
    expect(required.ssl).toEqual({ rejectUnauthorized: false });
    expect(disabled.ssl).toBe(false);
  });

  it('reads the CA named by sslrootcert (system: the default CAs), and refuses one it cannot read', () => {
    // Prepare
    const caFile = join(mkdtempSync(join(tmpdir(), 'fbb-ca-')), 'ca.pem');
    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n');

    // Act
    const named = fenceDbConnectionFromUrl(`${URL_WITH_PASSWORD}?sslrootcert=${caFile}`, 'verify');
    const system = fenceDbConnectionFromUrl(`${URL_WITH_PASSWORD}?sslrootcert=system`, 'verify');
    const missing = thrown(() =>
      fenceDbConnectionFromUrl(`${URL_WITH_PASSWORD}?sslrootcert=/nonexistent/ca.pem`, 'verify'),
    );

    // Assess
    expect(named.ssl).toEqual({ rejectUnauthorized: true, ca: expect.stringContaining('not really') });
    expect(named.connectionString).toBe(URL_WITH_PASSWORD);
    expect(system.ssl).toEqual({ rejectUnauthorized: true });
    expect(missing).toBeInstanceOf(ConfigurationError);
    expect(missing.message).toBe(
      "the Fence DB URL's sslrootcert cannot be read (ENOENT): /nonexistent/ca.pem",
    );
  });

  it('refuses an sslmode it does not know rather than guess', () => {
    // Act
    const error = thrown(() =>
      fenceDbConnectionFromUrl(`${URL_WITH_PASSWORD}?sslmode=verify_full`, 'verify'),
    );

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('sslmode=verify_full is not one of disable, allow, prefer, require');
  });
});

describe('Function: fenceDbConnectionFromSecret', () => {
  it("holds a secret's url to the configured mode: sslmode=disable there is refused under verify", () => {
    // Act
    const error = thrown(() =>
      fenceDbConnectionFromSecret({ url: `${URL_WITH_PASSWORD}?sslmode=disable` }, 'verify'),
    );
    const fields = fenceDbConnectionFromSecret(
      { host: 'fence-db.example.org', username: 'fence', password: 's3cr3t-pw' },
      'verify',
    );

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('asks for sslmode=disable, weaker than FENCE_DB_SSL=verify');
    expect(error.message).not.toContain('s3cr3t-pw');
    expect(fields).toMatchObject({
      host: 'fence-db.example.org',
      port: 5432,
      ssl: { rejectUnauthorized: true },
    });
  });
});
