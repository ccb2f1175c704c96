import { Argument, type Command } from 'commander';
import type { CliContext } from '../cli-context';
import { COMPLETION_SHELLS, type CompletionShell, completionScript } from '../shell-completion';

export function completionCommand(program: Command, context: CliContext): void {
  program
    .command('completion')
    .description('print the shell completion script for bash or zsh (commands, subcommands and options)')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(COMPLETION_SHELLS))
    .addHelpText(
      'after',
      `
Install for bash (bash-completion loads it when you first press Tab after fence-buckets):
  $ mkdir -p ~/.local/share/bash-completion/completions
  $ fence-buckets completion bash > ~/.local/share/bash-completion/completions/fence-buckets
  or, without bash-completion, in ~/.bashrc:
  source <(fence-buckets completion bash)

Install for zsh (a directory of your own on $fpath, before compinit runs in ~/.zshrc):
  $ mkdir -p ~/.zsh/completions
  $ fence-buckets completion zsh > ~/.zsh/completions/_fence-buckets
  and in ~/.zshrc, above compinit:
  fpath=(~/.zsh/completions $fpath)
  autoload -Uz compinit && compinit

Open a new shell afterwards. Run the command again after upgrading fence-buckets: the script
lists the commands and options of the version that wrote it.
`,
    )
    .action((shell: CompletionShell) => {
      context.io.out(completionScript(shell, program));
    });
}
