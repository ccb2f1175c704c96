import type { Command } from 'commander';
import { openFenceDbPool } from '../../shared/registry/fence-db-connection';
import { migrateFenceDb } from '../../shared/registry/fence-db-migrations';
import {
  applyFenceDbRoles,
  checkFenceDbRolesRunner,
  DEFAULT_FENCE_DB_OWNER,
  DEFAULT_FENCE_DB_WRITER,
} from '../../shared/registry/fence-db-roles';
import { type CliContext, commaSeparated, fenceDbConnection } from '../cli-context';

export function dbCommand(program: Command, context: CliContext): void {
  const db = program.command('db').description('Fence DB, the registry of record (REGISTRY_SOURCE=postgres)');
  db.command('migrate')
    .description(
      "create or update the registry table in Fence DB, owned by the broker's own role; safe to rerun, and to run twice at once",
    )
    .option('--database-url <url>', 'Fence DB, as its administrator (default: $FENCE_DB_URL)')
    .option('--fence-user <role>', "Fence's application user: may read the registry, never write it")
    .option(
      '--broker-user <roles>',
      "the broker's own login users, comma-separated (the admin's and the sync's): may read and write it",
      commaSeparated,
    )
    .option('--owner-role <role>', 'the role that owns the tables (no login)', DEFAULT_FENCE_DB_OWNER)
    .option(
      '--writer-role <role>',
      'the role that may write the registry (no login)',
      DEFAULT_FENCE_DB_WRITER,
    )
    .addHelpText(
      'after',
      `
Run it as the database's administrator (the RDS master user, or any user with CREATEROLE once
the two roles exist), never as Fence's user: it refuses that. Every run hands the tables to
--owner-role again and sets the grants again, so a rerun fixes what someone changed.

TLS is verified (CA and host name) unless FENCE_DB_SSL says otherwise (require, or disable for a
database on this machine); sslrootcert=<file> in the URL names the CA to trust.

Example:
  $ fence-buckets db migrate --fence-user fence --broker-user fence_bucket_broker \\
      --database-url 'postgres://postgres@db.example.org/fence?sslrootcert=/etc/ssl/rds-global-bundle.pem'
`,
    )
    .action(
      async (options: {
        databaseUrl?: string;
        fenceUser?: string;
        brokerUser?: string[];
        ownerRole: string;
        writerRole: string;
      }) => {
        const pool = openFenceDbPool({ ...fenceDbConnection(context, options.databaseUrl), max: 1 });
        const wanted = {
          owner: options.ownerRole,
          writer: options.writerRole,
          brokerUsers: options.brokerUser ?? [],
          ...(options.fenceUser === undefined ? {} : { fenceUser: options.fenceUser }),
        };
        try {
          await checkFenceDbRolesRunner(pool, wanted);
          const report = await migrateFenceDb(pool);
          const roles = await applyFenceDbRoles(pool, wanted);
          if (context.output().json) {
            context.io.out(`${JSON.stringify({ ...report, roles }, null, 2)}\n`);
            return;
          }
          for (const name of report.applied) context.io.out(`applied ${name}\n`);
          const total = report.applied.length + report.unchanged.length;
          context.io.out(`Fence DB schema is up to date (${total} migration${total === 1 ? '' : 's'})\n`);
          for (const name of roles.created) context.io.out(`created role ${name}\n`);
          context.io.out(
            `owned by ${roles.owner}; written by ${roles.writer}${roles.writers.length > 0 ? ` (${roles.writers.join(', ')})` : ''}${roles.fence_reader === null ? '' : `; read only by ${roles.fence_reader}`}\n`,
          );
        } finally {
          await pool.end();
        }
      },
    );
}
