import { Pool } from 'pg';
import { migrateFenceDb } from '../../../functions/shared/registry/fence-db-migrations';
import { readEndpoints } from '../services/endpoints';

export interface FenceDbUnderTest {
  /** A connection URL of a database of this test's own. */
  url: string;
  /** A pool on it, for setup and checks. */
  pool: Pool;
  /** Drops the database (closing the pool and every other connection to it). */
  drop(): Promise<void>;
}

/**
 * A new, empty database on the run's PostgreSQL (the harness's, or `FENCE_DB_URL`'s server), so
 * tests never share a registry table. `migrated` (default) applies the repository's migrations.
 */
export async function freshFenceDb(options: { migrated?: boolean } = {}): Promise<FenceDbUnderTest> {
  const server = readEndpoints().postgresUrl;
  const name = `fbb_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new Pool({ connectionString: server, max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: 4 });
  // Dropping the database ends connections the pool already let go of; that is not an error here.
  pool.on('error', () => undefined);
  if (options.migrated !== false) await migrateFenceDb(pool);
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      const cleanup = new Pool({ connectionString: server, max: 1 });
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}
