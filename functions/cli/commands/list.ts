import type { Command } from 'commander';
import type { BucketRecord } from '../../shared/registry/bucket-record';
import { type CliContext, positiveInt } from '../cli-context';
import { printRecords } from '../output';

export function listCommand(program: Command, context: CliContext): void {
  program
    .command('list')
    .description('list registered buckets')
    .option('--status <status>', 'only buckets with this status (active, suspended)')
    .option('--provider <provider>', 'only buckets of this provider (aws, gcp, s3_compatible, minio)')
    .option('--limit <n>', 'page size (1-1000)', positiveInt('--limit'))
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--all', 'follow every page')
    .addHelpText('after', '\nExample:\n  $ fence-buckets list --status suspended --json\n')
    .action(
      async (options: {
        status?: string;
        provider?: string;
        limit?: number;
        cursor?: string;
        all?: boolean;
      }) => {
        const operations = context.operations();
        const query: Record<string, string | number> = {};
        if (options.status !== undefined) query.status = options.status;
        if (options.provider !== undefined) query.provider = options.provider;
        if (options.limit !== undefined) query.limit = options.limit;
        let cursor = options.cursor;
        const records: BucketRecord[] = [];
        do {
          const page = await operations.list(cursor === undefined ? query : { ...query, cursor });
          records.push(...page.records);
          cursor = page.cursor;
        } while (options.all && cursor !== undefined);
        printRecords(context.io, context.output(), records, cursor);
      },
    );
}
