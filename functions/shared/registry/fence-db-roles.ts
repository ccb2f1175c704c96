import { escapeIdentifier, type Pool, type PoolClient } from 'pg';
import { ConfigurationError } from '../errors';
import { MIGRATIONS_TABLE, withMigrationLock } from './fence-db-migrations';
import { FENCE_DB_REGISTRY_TABLE as REGISTRY_TABLE } from './postgres-bucket-registry';

/**
 * Who may do what to the broker's tables in Fence DB. The registry of record decides which
 * secret a bucket reads, so a write to it is an admin action: Fence's own application user (and
 * anyone who has its password, or an injection in Fence) must not be able to make one. The
 * tables belong to a dedicated role that no one logs in as; the broker's users write through a
 * writer role; Fence's user may only read.
 */
export interface FenceDbRoles {
  /** Owns the broker's tables and function (NOLOGIN). @default fence_bucket_broker_owner */
  owner: string;
  /** May read and write the registry (NOLOGIN; granted to `brokerUsers`). @default fence_bucket_broker_writer */
  writer: string;
  /**
   * Login roles of the broker: the users in `FENCE_DB_URL` (CLI, local runner) and in the admin
   * and sync functions' database secret. They get the writer role. @default none
   */
  brokerUsers: readonly string[];
  /** Fence's application user: SELECT on the registry, nothing else. @default none */
  fenceUser?: string;
}

export const DEFAULT_FENCE_DB_OWNER = 'fence_bucket_broker_owner';
export const DEFAULT_FENCE_DB_WRITER = 'fence_bucket_broker_writer';

/** What `applyFenceDbRoles` set up. */
export interface FenceDbRolesReport {
  owner: string;
  writer: string;
  /** Roles it created this run (none on a rerun). */
  created: string[];
  writers: string[];
  fence_reader: string | null;
}

/** Role names as PostgreSQL folds them unquoted; anything else is refused rather than quoted. */
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const VERSIONING_FUNCTION = 'fence_bucket_registry_versioning()';

/**
 * Creates the owner and writer roles where missing, hands the broker's tables and function to
 * the owner, lets the writer (and through it each broker user) read and write the registry, and
 * leaves Fence's user SELECT only, whatever it held before (it may have owned the tables, if it
 * ran `db migrate` itself). Every statement is idempotent, so a rerun changes nothing; it runs in
 * one transaction under the migrations' advisory lock. Needs a user with CREATEROLE (the RDS
 * master user) unless the roles exist, and refuses to run as Fence's user.
 */
export async function applyFenceDbRoles(pool: Pool, roles: FenceDbRoles): Promise<FenceDbRolesReport> {
  checkRoleNames(roles);
  return withMigrationLock(pool, (client) => inTransaction(client, () => apply(client, roles)));
}

/**
 * Refuses, before anything runs, role names PostgreSQL would fold or need quoting for, the same
 * role twice, and a connection as Fence's (or the broker's) own user: a migration run as one of
 * them would leave it able to change the broker's tables.
 */
export async function checkFenceDbRolesRunner(pool: Pool, roles: FenceDbRoles): Promise<void> {
  checkRoleNames(roles);
  const { rows } = await pool.query<{ me: string }>('SELECT current_user AS me');
  checkRunner(String(rows[0]?.me), roles);
}

function checkRoleNames(roles: FenceDbRoles): void {
  const named = [
    roles.owner,
    roles.writer,
    ...roles.brokerUsers,
    ...(roles.fenceUser ? [roles.fenceUser] : []),
  ];
  for (const name of named) {
    if (!ROLE_NAME.test(name)) {
      throw new ConfigurationError(
        `role name ${JSON.stringify(name.slice(0, 80))} must be lowercase letters, digits and _ (at most 63)`,
      );
    }
  }
  if (new Set(named).size !== named.length) {
    throw new ConfigurationError('the owner, writer, broker users and Fence user must be different roles');
  }
}

function checkRunner(me: string, roles: FenceDbRoles): void {
  if (roles.fenceUser === me || roles.brokerUsers.includes(me)) {
    throw new ConfigurationError(
      `db migrate runs as ${me}, which would stay able to change the broker's tables: run it as the database's administrator (the RDS master user), not as Fence's or the broker's user`,
    );
  }
}

async function apply(client: PoolClient, roles: FenceDbRoles): Promise<FenceDbRolesReport> {
  const { rows } = await client.query<{ me: string; superuser: boolean }>(
    'SELECT current_user AS me, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
  );
  const me = rows[0];
  if (me === undefined) throw new ConfigurationError('the current database user has no role');
  checkRunner(me.me, roles);
  const existing = async (name: string) =>
    (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;
  for (const name of [...roles.brokerUsers, ...(roles.fenceUser ? [roles.fenceUser] : [])]) {
    if (!(await existing(name))) throw new ConfigurationError(`role ${name} does not exist in Fence DB`);
  }
  const created: string[] = [];
  for (const name of [roles.owner, roles.writer]) {
    if (await existing(name)) continue;
    // Roles are cluster-wide and the advisory lock is per database: another database's run may
    // create the same role at once, which is as good as creating it here.
    await client.query('SAVEPOINT create_role');
    try {
      await client.query(`CREATE ROLE ${escapeIdentifier(name)} NOLOGIN`);
      created.push(name);
    } catch (error) {
      if (!isDuplicate(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT create_role');
    }
  }
  const owner = escapeIdentifier(roles.owner);
  const writer = escapeIdentifier(roles.writer);
  // ALTER … OWNER TO needs the migrating user to be able to act as the new owner.
  if (!me.superuser) await client.query(`GRANT ${owner} TO CURRENT_USER`);
  for (const table of [REGISTRY_TABLE, MIGRATIONS_TABLE]) {
    await client.query(`ALTER TABLE ${table} OWNER TO ${owner}`);
    await client.query(`REVOKE ALL ON TABLE ${table} FROM PUBLIC`);
  }
  await client.query(`ALTER FUNCTION ${VERSIONING_FUNCTION} OWNER TO ${owner}`);
  await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ${REGISTRY_TABLE} TO ${writer}`);
  for (const user of roles.brokerUsers) await client.query(`GRANT ${writer} TO ${escapeIdentifier(user)}`);
  if (roles.fenceUser !== undefined) {
    const fence = escapeIdentifier(roles.fenceUser);
    for (const table of [REGISTRY_TABLE, MIGRATIONS_TABLE]) {
      await client.query(`REVOKE ALL ON TABLE ${table} FROM ${fence}`);
    }
    // A membership would hand the privileges back; REVOKE of one it lacks is only a warning.
    await client.query(`REVOKE ${owner}, ${writer} FROM ${fence}`);
    await client.query(`GRANT SELECT ON TABLE ${REGISTRY_TABLE} TO ${fence}`);
  }
  return {
    owner: roles.owner,
    writer: roles.writer,
    created,
    writers: [...roles.brokerUsers],
    fence_reader: roles.fenceUser ?? null,
  };
}

async function inTransaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** `duplicate_object`, or the unique index of pg_authid when two sessions create one role at once. */
function isDuplicate(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '42710' || code === '23505';
}
