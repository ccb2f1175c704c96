import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { ConfigurationError, MigrationFailedError } from '../errors';

/**
 * The repository's migrations: plain SQL files named `NNNN_name.sql`, applied in name order. The
 * nearest `db/migrations` above this code: the repository's from a clone, and the copy the packed
 * CLI ships beside its one-file bundle (clients/cli), whose `__dirname` is the bundle's folder.
 */
export const FENCE_DB_MIGRATIONS_DIR = nearestMigrationsDir(__dirname);

function nearestMigrationsDir(from: string): string {
  for (let directory = from; ; directory = dirname(directory)) {
    const candidate = join(directory, 'db/migrations');
    if (existsSync(candidate)) return candidate;
    // None anywhere: the path a clone would have, so the error names what is missing.
    if (dirname(directory) === directory) return join(from, '../../../db/migrations');
  }
}

/** Where applied migrations are recorded, in the database's current schema. */
export const MIGRATIONS_TABLE = 'fence_bucket_broker_migrations';

/**
 * The advisory lock every migration run holds, so two runs at once apply each file once: the
 * second waits, then finds everything applied. Any fixed 64-bit key works; this one is
 * "fbbmigr\\0" in ASCII (0x6662626d69677200), unlikely to meet another application's.
 */
export const MIGRATION_LOCK_KEY = '7377567361645638144';

export interface Migration {
  /** `0001`: the file name's leading digits. */
  version: string;
  /** The file name. */
  name: string;
  sql: string;
  /** SHA-256 of the file, so an applied migration edited afterwards is noticed. */
  checksum: string;
}

export interface MigrationReport {
  /** Migrations this run applied, in order. */
  applied: string[];
  /** Migrations that were already applied before this run. */
  unchanged: string[];
}

/** Reads the migration files of `directory`, in order; refuses a name without a version. */
export async function readMigrations(directory = FENCE_DB_MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const version = /^(\d{4,})_[a-z0-9_]+\.sql$/.exec(name)?.[1];
    if (version === undefined) {
      throw new ConfigurationError(`migration file ${name} is not named NNNN_name.sql`);
    }
    if (migrations.some((migration) => migration.version === version)) {
      throw new ConfigurationError(`two migration files have version ${version}`);
    }
    const sql = await readFile(join(directory, name), 'utf8');
    migrations.push({ version, name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

/**
 * Brings the Fence DB schema up to date: applies, in order, each migration not yet recorded in
 * `fence_bucket_broker_migrations`, each in its own transaction together with its record, under
 * an advisory lock. A rerun is a no-op; a failed migration leaves nothing of itself behind and
 * stops the run. An applied migration whose file has changed since is refused rather than
 * silently skipped.
 */
export async function migrateFenceDb(
  pool: Pool,
  migrations: readonly Migration[] | Promise<readonly Migration[]> = readMigrations(),
): Promise<MigrationReport> {
  const files = await migrations;
  return withMigrationLock(pool, async (client) => {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
         version    text        PRIMARY KEY,
         name       text        NOT NULL,
         checksum   text        NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: string; name: string; checksum: string }>(
      `SELECT version, name, checksum FROM ${MIGRATIONS_TABLE}`,
    );
    const recorded = new Map(rows.map((row) => [row.version, row]));
    const report: MigrationReport = { applied: [], unchanged: [] };
    for (const migration of files) {
      const previous = recorded.get(migration.version);
      if (previous !== undefined) {
        if (previous.checksum !== migration.checksum) {
          throw new ConfigurationError(
            `migration ${migration.name} was changed after it was applied (as ${previous.name}); add a new migration instead`,
          );
        }
        report.unchanged.push(migration.name);
        continue;
      }
      await applyOne(client, migration);
      report.applied.push(migration.name);
    }
    return report;
  });
}

/**
 * Runs `work` on one connection holding the migrations' advisory lock, so no two schema or role
 * changes interleave. A connection that failed mid-run may still hold the lock or a transaction:
 * it is closed, not returned to the pool.
 */
export async function withMigrationLock<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      return await work(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]).catch(() => {
        broken = true;
      });
    }
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    client.release(broken);
  }
}

async function applyOne(client: PoolClient, migration: Migration): Promise<void> {
  await client.query('BEGIN');
  try {
    // The simple query protocol (no parameters) runs a file of several statements.
    await client.query(migration.sql);
    await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, checksum) VALUES ($1, $2, $3)`, [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationFailedError(migration.name, error);
  }
}
