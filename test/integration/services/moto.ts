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
