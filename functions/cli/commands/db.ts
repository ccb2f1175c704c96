import type { Command } from 'commander';
import { openFenceDbPool } from '../../shared/registry/fence-db-connection';
import { migrateFenceDb } from '../../shared/registry/fence-db-migrations';
import { type CliContext, fenceDbConnection } from '../cli-context';

export function dbCommand(program: Command, context: CliContext): void {
  const db = program.command('db').description('Fence DB, the registry of record (REGISTRY_SOURCE=postgres)');
  db.command('migrate')
    .description('create or update the registry table in Fence DB; safe to rerun, and to run twice at once')
    .option('--database-url <url>', 'Fence DB (default: $FENCE_DB_URL)')
    .addHelpText(
      'after',
      `
TLS is verified (CA and host name) unless FENCE_DB_SSL says otherwise (require, or disable for a
database on this machine); sslrootcert=<file> in the URL names the CA to trust.

Example:
  $ fence-buckets db migrate --database-url 'postgres://fence@db.example.org/fence?sslrootcert=/etc/ssl/rds-global-bundle.pem'
`,
    )
    .action(async (options: { databaseUrl?: string }) => {
      const pool = openFenceDbPool({ ...fenceDbConnection(context, options.databaseUrl), max: 1 });
      try {
        const report = await migrateFenceDb(pool);
        if (context.output().json) {
          context.io.out(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        for (const name of report.applied) context.io.out(`applied ${name}\n`);
        const total = report.applied.length + report.unchanged.length;
        context.io.out(`Fence DB schema is up to date (${total} migration${total === 1 ? '' : 's'})\n`);
      } finally {
        await pool.end();
      }
    });
}
