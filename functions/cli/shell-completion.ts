import type { Command, Option } from 'commander';

/** The shells `fence-buckets completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What an option's value completes to: nothing to offer, file names, or a fixed list. */
type OptionValue = { kind: 'none' } | { kind: 'files' } | { kind: 'choices'; choices: string[] };

interface CompletionOption {
  /** `--json`, `-h`: every spelling of the option. */
  names: string[];
  description: string;
  /** Undefined for a flag; otherwise what the word after it completes to. */
  value?: OptionValue;
}

/** One command of the tree: where it is, what may follow it. */
interface CompletionNode {
  /** Command names from the program down, `''` for the program itself: `db migrate`. */
  path: string;
  subcommands: { name: string; description: string }[];
  /** Its own options and those of every command above it (commander reads those anywhere). */
  options: CompletionOption[];
  /** Fixed values of its positional arguments (`completion <shell>`, `help [command]`). */
  argumentChoices: string[];
}

/**
 * A completion script for `shell`, generated from `program`'s own commands and options each time
 * it is asked for: a command or option added to the CLI is in the next script with no second list
 * to keep up to date. The scripts are static (no call back into the CLI on each Tab), so
 * completing costs nothing and works when the CLI cannot reach anything.
 */
export function completionScript(shell: CompletionShell, program: Command): string {
  const tree = completionTree(program);
  return shell === 'bash' ? bashScript(program.name(), tree) : zshScript(program.name(), tree);
}

function completionTree(program: Command): CompletionNode[] {
  const nodes: CompletionNode[] = [];
  const visit = (command: Command, parent: Command | null, path: string, inherited: CompletionOption[]) => {
    const help = command.createHelp();
    const own = help.visibleOptions(command).map(completionOption);
    const options = [
      ...own,
      ...inherited.filter((option) => !option.names.some((name) => own.some((o) => o.names.includes(name)))),
    ];
    const subcommands = help.visibleCommands(command);
    nodes.push({
      path,
      subcommands: subcommands.map((sub) => ({
        name: sub.name(),
        description: sub.summary() || sub.description(),
      })),
      options,
      argumentChoices:
        // commander's implicit `help [command]` (which has no parent set) takes a sibling's name.
        parent !== null && command.name() === 'help' && command.commands.length === 0
          ? siblingNames(parent, command.name())
          : command.registeredArguments.flatMap((argument) => argument.argChoices ?? []),
    });
    // A parent's help option is each command's own; the rest of its options carry down.
    const carried = options.filter(
      (option) => !option.names.includes('--help') && !option.names.includes('--version'),
    );
    for (const sub of subcommands)
      visit(sub, command, path === '' ? sub.name() : `${path} ${sub.name()}`, carried);
  };
  visit(program, null, '', []);
  return nodes;
}

function siblingNames(parent: Command, name: string): string[] {
  return parent
    .createHelp()
    .visibleCommands(parent)
    .map((sibling) => sibling.name())
    .filter((sibling) => sibling !== name);
}

function completionOption(option: Option): CompletionOption {
  const names = [option.long, option.short].filter((name): name is string => typeof name === 'string');
  const base = { names, description: option.description };
  if (!option.required && !option.optional) return base;
  if (option.argChoices !== undefined && option.argChoices.length > 0) {
    return { ...base, value: { kind: 'choices', choices: option.argChoices } };
  }
  // `--config <file>`, `--ca-file <path>`: the value names a file on this machine.
  return {
    ...base,
    value: /<([a-z-]+-)?(file|path|dir)>/.test(option.flags) ? { kind: 'files' } : { kind: 'none' },
  };
}

/** `text` as one single-quoted shell word (bash and zsh read it alike). */
function quoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function valuedOptions(node: CompletionNode): string[] {
  return node.options.filter((option) => option.value !== undefined).flatMap((option) => option.names);
}

/** `case` arms, one per command: `'db migrate') <body> ;;`. */
function caseArms(tree: CompletionNode[], body: (node: CompletionNode) => string, indent: string): string {
  return tree.map((node) => `${indent}${quoted(node.path)}) ${body(node)} ;;`).join('\n');
}

/** `case` arms for option values: `'db migrate --config') REPLY=files ;;`. */
function valueArms(tree: CompletionNode[], indent: string): string {
  return tree
    .flatMap((node) =>
      node.options.flatMap((option) => {
        const value = option.value;
        if (value === undefined) return [];
        const reply =
          value.kind === 'choices'
            ? `choices ${value.choices.join(' ')}`
            : value.kind === 'files'
              ? 'files'
              : '';
        return option.names.map(
          (name) => `${indent}${quoted(`${node.path} ${name}`)}) REPLY=${quoted(reply)} ;;`,
        );
      }),
    )
    .join('\n');
}

/** The shell function both scripts share (bash and zsh read `case` alike): an option's value completion. */
function valueFunction(fn: string, tree: CompletionNode[]): string {
  return `# What the value of option $2 of command $1 completes to: files, choices <words>, or nothing.
${fn}_value() {
  case "$1 $2" in
${valueArms(tree, '    ')}
    *) REPLY='' ;;
  esac
}
`;
}

function bashScript(name: string, tree: CompletionNode[]): string {
  const fn = `_${name.replaceAll('-', '_')}`;
  return `# bash completion for ${name}, generated from its commands by \`${name} completion bash\`.
# Install: ${name} completion --help

# The words that may follow a command: its subcommands and its arguments' fixed values.
${fn}_words() {
  case "$1" in
${caseArms(tree, (node) => `REPLY=${quoted([...node.subcommands.map((sub) => sub.name), ...node.argumentChoices].join(' '))}`, '    ')}
    *) REPLY='' ;;
  esac
}

${fn}_subcommands() {
  case "$1" in
${caseArms(tree, (node) => `REPLY=${quoted(node.subcommands.map((sub) => sub.name).join(' '))}`, '    ')}
    *) REPLY='' ;;
  esac
}

${fn}_options() {
  case "$1" in
${caseArms(tree, (node) => `REPLY=${quoted(node.options.flatMap((option) => option.names).join(' '))}`, '    ')}
    *) REPLY='' ;;
  esac
}

# The options of a command that take a value (the next word is that value, not a command).
${fn}_valued() {
  case "$1" in
${caseArms(tree, (node) => `REPLY=${quoted(valuedOptions(node).join(' '))}`, '    ')}
    *) REPLY='' ;;
  esac
}

${valueFunction(fn, tree)}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" command_path='' word option='' i REPLY
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    # --option=value: bash splits it at '=' (COMP_WORDBREAKS); the value belongs to the option.
    if [[ $word == = ]]; then continue; fi
    if [[ -n $option ]]; then option=''; continue; fi
    case "$word" in
      --) return 0 ;;
      -*)
        ${fn}_valued "$command_path"
        if [[ " $REPLY " == *" $word "* ]]; then option="$word"; fi
        ;;
      *)
        ${fn}_subcommands "$command_path"
        if [[ " $REPLY " == *" $word "* ]]; then command_path="\${command_path:+$command_path }$word"; fi
        ;;
    esac
  done
  if [[ $cur == = ]]; then cur=''; fi
  if [[ -n $option ]]; then
    ${fn}_value "$command_path" "$option"
    case "$REPLY" in
      files)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
      choices\\ *) mapfile -t COMPREPLY < <(compgen -W "\${REPLY#choices }" -- "$cur") ;;
    esac
    return 0
  fi
  if [[ $cur == -* ]]; then
    ${fn}_options "$command_path"
  else
    ${fn}_words "$command_path"
  fi
  mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
  return 0
}

complete -F ${fn} ${name}
`;
}

/** `'name:description'` entries for zsh's `_describe` (a colon in the name is escaped). */
function describeEntries(entries: { name: string; description: string }[]): string {
  return entries
    .map((entry) => quoted(`${entry.name.replaceAll(':', '\\:')}:${entry.description.replace(/\s+/g, ' ')}`))
    .join(' ');
}

function zshScript(name: string, tree: CompletionNode[]): string {
  const fn = `_${name}`;
  return `#compdef ${name}
# zsh completion for ${name}, generated from its commands by \`${name} completion zsh\`.
# Install: ${name} completion --help

${fn}() {
  local command_path='' word option='' REPLY i
  local -a subcommands options valued arguments
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    if [[ -n $option ]]; then option=''; continue; fi
    case $word in
      --) return 1 ;;
      --*=*) ;;
      -*)
        ${fn}_node "$command_path"
        if (( \${valued[(Ie)$word]} )); then option=$word; fi
        ;;
      *)
        ${fn}_node "$command_path"
        if (( \${subcommands[(I)\${word}:*]} )); then
          command_path=\${command_path:+$command_path }$word
        fi
        ;;
    esac
  done
  ${fn}_node "$command_path"
  if [[ -z $option && $PREFIX == --*=* ]]; then
    option=\${PREFIX%%=*}
    compset -P '*='
  fi
  if [[ -n $option ]]; then
    ${fn}_value "$command_path" "$option"
    case $REPLY in
      files) _files ;;
      choices\\ *) compadd -- \${=REPLY#choices } ;;
      *) return 1 ;;
    esac
    return
  fi
  if [[ $PREFIX == -* ]]; then
    _describe -t options 'option' options
  else
    local ret=1
    (( \${#subcommands} )) && _describe -t commands 'command' subcommands && ret=0
    (( \${#arguments} )) && compadd -- $arguments && ret=0
    return ret
  fi
}

# Sets subcommands, options (name:description), valued (options that take a value) and
# arguments (fixed argument values) for command $1.
${fn}_node() {
  case $1 in
${caseArms(
  tree,
  (node) =>
    [
      `subcommands=(${describeEntries(node.subcommands)})`,
      `options=(${describeEntries(node.options.flatMap((option) => option.names.map((n) => ({ name: n, description: option.description }))))})`,
      `valued=(${valuedOptions(node).map(quoted).join(' ')})`,
      `arguments=(${node.argumentChoices.map(quoted).join(' ')})`,
    ].join('; '),
  '    ',
)}
    *) subcommands=(); options=(); valued=(); arguments=() ;;
  esac
}

${valueFunction(fn, tree)}
# Loaded from $fpath by compinit, this file is the completion function's body; sourced, it
# registers the function.
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${name}
fi
`;
}
