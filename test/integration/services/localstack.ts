import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSelfSignedCertificate } from './certificates';
import {
  freePort,
  removingOnStop,
  type ServiceProcess,
  ServiceStartError,
  startProcess,
  waitUntil,
} from './process';

/** Where `scripts/install-test-services.sh` puts LocalStack's venv (the same rule as the script). */
export function localstackVenv(): string {
  return (
    process.env.LOCALSTACK_VENV ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'fence-bucket-broker', 'localstack-venv')
  );
}

export interface LocalStackServer {
  process: ServiceProcess;
  endpoint: string;
}

/**
 * LocalStack on the host (no Docker) for Secrets Manager, STS and S3, on a free loopback port,
 * with a throwaway state directory. Each setting below was needed on these machines.
 */
export async function startLocalStack(): Promise<LocalStackServer> {
  const venv = localstackVenv();
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) throw new ServiceStartError('LocalStack', `is not installed at ${venv}`);
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'fbb-localstack-'));
  const certificate = selfSignedCertificate(root);
  const service = startProcess('LocalStack', python, ['-m', 'localstack.runtime.main'], {
    cwd: root,
    // Not the caller's environment: LocalStack reads many variables (SERVICES, DEBUG, AWS_*…).
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: join(root, 'tmp'),
      // It takes these machines for its own container and would write under /var/lib/localstack.
      OVERRIDE_IN_DOCKER: '0',
      FILESYSTEM_ROOT: join(root, 'fs'),
      // Loopback only: the default server binds 0.0.0.0, and so would its DNS server (port 53).
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
      GATEWAY_SERVER: 'hypercorn',
      DNS_ADDRESS: '0',
      LOCALSTACK_HOST: `127.0.0.1:${port}`,
      // Only what the tests route here: a call meant for another service fails instead of
      // starting it (its DynamoDB would download a JDK).
      SERVICES: 's3,secretsmanager,sts',
      // Loaded before it says ready, not on a test's first call (seconds on a loaded machine).
      EAGER_SERVICE_LOADING: '1',
      // No analytics, no certificate download: a key and certificate made here (it serves TLS
      // and plain HTTP on the same port; the tests use HTTP).
      DISABLE_EVENTS: '1',
      SKIP_SSL_CERT_DOWNLOAD: '1',
      CUSTOM_SSL_CERT_PATH: certificate,
      // Presigned URLs are checked: signature (secret key `test` unless the key is LocalStack's
      // own, e.g. from its STS) and expiry.
      S3_SKIP_SIGNATURE_VALIDATION: '0',
    },
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntil(
    service,
    async () => {
      const answer = await fetch(`${endpoint}/_localstack/init/ready`);
      return answer.ok && ((await answer.json()) as { completed?: boolean }).completed === true;
    },
    90_000,
  );
  return {
    process: removingOnStop(service, root),
    endpoint,
  };
}

/** A key and self-signed certificate for 127.0.0.1, in one PEM file as LocalStack wants them. */
function selfSignedCertificate(root: string): string {
  mkdirSync(join(root, 'tmp'));
  const key = join(root, 'key.pem');
  const certificate = join(root, 'cert.pem');
  const both = join(root, 'server.pem');
  try {
    writeSelfSignedCertificate(key, certificate);
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new ServiceStartError(
      'LocalStack',
      'could not get a certificate from openssl',
      stderr,
      'apt-get install openssl',
    );
  }
  writeFileSync(both, readFileSync(key, 'utf8') + readFileSync(certificate, 'utf8'), { mode: 0o600 });
  return both;
}
