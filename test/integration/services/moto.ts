import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort, type ServiceProcess, ServiceStartError, startProcess, waitUntil } from './process';

/**
 * moto's AWS API emulator on 127.0.0.1 (all services on one port). `environment` adds to the
 * server's environment (the deployed suite names the Lambda image moto runs functions in).
 */
export async function startMoto(
  environment: Record<string, string> = {},
): Promise<{ process: ServiceProcess; endpoint: string }> {
  const python = process.env.PYTHON ?? 'python3';
  const check = spawnSync(python, ['-c', 'import moto.server, flask'], { encoding: 'utf8' });
  if (check.status !== 0) {
    throw new ServiceStartError(
      'moto server',
      `is not installed for ${python}`,
      check.stderr,
      "pip install 'moto[server]'",
    );
  }
  const port = await freePort();
  // moto_server.py is moto with Secrets Manager's rotation behaviour made to match AWS (see its docstring).
  const service = startProcess(
    'moto server',
    python,
    [join(__dirname, 'moto_server.py'), '-H', '127.0.0.1', '-p', String(port)],
    {
      // MOTO_PORT: where functions moto runs in containers find it (moto_server.py, point 5).
      env: { ...process.env, MOTO_PORT: String(port), ...environment },
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntil(service, async () => (await fetch(`${endpoint}/moto-api/`)).ok, 30_000);
  return { process: service, endpoint };
}

/** A moto that checks every request's signature, and the administrator it was set up with. */
export interface AuthenticatedMoto {
  process: ServiceProcess;
  endpoint: string;
  /** An IAM user allowed everything: every call after setup must be signed by a known key. */
  admin: { accessKeyId: string; secretAccessKey: string };
}

/**
 * A moto of its own (free port, its own data: the shared one stays unauthenticated) that
 * authenticates requests: with `INITIAL_NO_AUTH_ACTION_COUNT=3`, the three calls that create the
 * administrator and its key go unchecked, and after that moto refuses any request signed with
 * an unknown or deleted access key. moto 5 checks the `Authorization` header only (header-signed
 * SigV4): a presigned URL (query-string SigV4) gets a 500 whatever its key, and an Inactive key
 * is still accepted (iam/access_control.py never looks at the key's status).
 */
export async function startAuthenticatedMoto(): Promise<AuthenticatedMoto> {
  const moto = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: '3' });
  try {
    const call = async (action: string, parameters: Record<string, string>) => {
      const answer = await fetch(`${moto.endpoint}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          // moto reads the account and region from the credential scope; nothing is checked yet.
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: new URLSearchParams({ Action: action, Version: '2010-05-08', ...parameters }),
      });
      const text = await answer.text();
      if (!answer.ok) throw new ServiceStartError('authenticated moto', `${action} failed`, text);
      return text;
    };
    await call('CreateUser', { UserName: 'fbb-test-admin' });
    await call('PutUserPolicy', {
      UserName: 'fbb-test-admin',
      PolicyName: 'everything',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      }),
    });
    const created = await call('CreateAccessKey', { UserName: 'fbb-test-admin' });
    const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(created)?.[1];
    const secretAccessKey = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(created)?.[1];
    if (accessKeyId === undefined || secretAccessKey === undefined)
      throw new ServiceStartError('authenticated moto', 'CreateAccessKey answered no key', created);
    return { ...moto, admin: { accessKeyId, secretAccessKey } };
  } catch (error) {
    await moto.process.stop();
    throw error;
  }
}
