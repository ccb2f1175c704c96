import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
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

/** PostgreSQL in a temporary data directory; as root, it runs as the `postgres` user it requires. */
export async function startPostgres(): Promise<PostgresServer> {
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
