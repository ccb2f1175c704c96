import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  removingOnStop,
  type ServiceProcess,
  ServiceStartError,
  startProcess,
  waitUntil,
} from './process';

const HINT = 'apt-get install -y postgresql (or run `npm run services:install`)';

/** The directory of initdb/pg_ctl/postgres; Debian keeps them off the PATH. */
function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new ServiceStartError(
    'PostgreSQL',
    'is not installed (no initdb under /usr/lib/postgresql)',
    '',
    HINT,
  );
}

export interface PostgresServer {
  process: ServiceProcess;
  url: string;
}

/**
 * PostgreSQL in a temporary data directory; as root, it runs as the `postgres` user it requires.
 * With `tls`, it also serves TLS with that key and certificate (copied into its data directory,
 * where it requires them to be its own).
 */
export async function startPostgres(
  options: { tls?: { keyFile: string; certificateFile: string } } = {},
): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const asRoot = userInfo().uid === 0;
  // setpriv execs in place (unlike runuser, which forks), so stopping the child stops postgres.
  const runAs = (command: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]]
      : [command, args];
  const dataRoot = mkdtempSync(join(tmpdir(), 'fbb-pg-'));
  const dataDir = join(dataRoot, 'data');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dataRoot, uid, gid);
  }
  chmodSync(dataRoot, 0o700);
  const [initdb, initdbArgs] = runAs(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'fence',
    '--auth=trust',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  try {
    execFileSync(initdb, initdbArgs, { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new ServiceStartError('PostgreSQL', 'initdb failed', stderr, HINT);
  }
  const tlsArgs: string[] = [];
  if (options.tls !== undefined) {
    const key = join(dataDir, 'server.key');
    const certificate = join(dataDir, 'server.crt');
    copyFileSync(options.tls.keyFile, key);
    copyFileSync(options.tls.certificateFile, certificate);
    chmodSync(key, 0o600);
    if (asRoot) {
      const owner = statSync(dataDir);
      chownSync(key, owner.uid, owner.gid);
      chownSync(certificate, owner.uid, owner.gid);
    }
    tlsArgs.push('-c', 'ssl=on', '-c', `ssl_cert_file=${certificate}`, '-c', `ssl_key_file=${key}`);
  }
  const port = await freePort();
  const [postgres, postgresArgs] = runAs(join(bin, 'postgres'), [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-h',
    '127.0.0.1',
    '-k',
    dataRoot,
    '-c',
    'fsync=off',
    ...tlsArgs,
  ]);
  const service = startProcess('PostgreSQL', postgres, postgresArgs);
  const [isReady, isReadyArgs] = runAs(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]);
  await waitUntil(
    service,
    async () => {
      try {
        execFileSync(isReady, isReadyArgs, { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    },
    30_000,
  );
  const [createdb, createdbArgs] = runAs(join(bin, 'createdb'), [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'fence',
    'fence',
  ]);
  execFileSync(createdb, createdbArgs, { stdio: 'pipe' });
  return {
    process: removingOnStop(service, dataRoot),
    url: `postgres://fence@127.0.0.1:${port}/fence`,
  };
}
