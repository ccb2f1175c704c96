import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { printObject } from '../output';

export function rotateCommand(program: Command, context: CliContext): void {
  program
    .command('rotate')
    .description("rotate a bucket's secret now, through its configured rotation function")
    .argument('<bucket>', 'bucket name or record id')
    .addHelpText('after', '\nExample:\n  $ fence-buckets rotate my-dataset\n')
    .action(async (bucket: string) => {
      const started = await context.operations().rotate(bucket);
      printObject(context.io, context.output(), { ...started });
    });
}
