import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { printRecord } from '../output';

export function getCommand(program: Command, context: CliContext): void {
  program
    .command('get')
    .description('show one bucket record')
    .argument('<bucket>', 'bucket name or record id')
    .addHelpText('after', '\nExample:\n  $ fence-buckets get my-dataset\n')
    .action(async (bucket: string) => {
      printRecord(context.io, context.output(), await context.operations().get(bucket));
    });
}
