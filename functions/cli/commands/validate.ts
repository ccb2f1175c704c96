import type { Command } from 'commander';
import type { ValidationReport } from '../../shared/admin/bucket-admin';
import { type CliContext, UsageError } from '../cli-context';
import { EXIT, printReports, progress } from '../output';

export function validateCommand(program: Command, context: CliContext): void {
  program
    .command('validate')
    .description("prove buckets' credentials still work (exit code 1 when any check fails)")
    .argument('[buckets...]', 'bucket names or record ids')
    .option('--all', 'every registered bucket')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fence-buckets validate my-dataset\n  $ fence-buckets validate --all --json\n',
    )
    .action(async (buckets: string[], options: { all?: boolean }) => {
      const operations = context.operations();
      let names = buckets;
      if (options.all) {
        names = [];
        let cursor: string | undefined;
        do {
          const page = await operations.list(
            cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor },
          );
          names.push(...page.records.map((record) => record.bucket_name));
          cursor = page.cursor;
        } while (cursor !== undefined);
      } else if (names.length === 0) {
        throw new UsageError('name at least one bucket, or --all');
      }
      const bar = progress(context.io, names.length, 'validating');
      const reports: ValidationReport[] = [];
      for (const name of names) {
        reports.push(await operations.validate(name));
        bar.tick();
      }
      bar.stop();
      printReports(context.io, context.output(), reports);
      if (reports.some((report) => !report.ok)) context.exitCode = EXIT.failure;
    });
}
