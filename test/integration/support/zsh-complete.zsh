# Presses Tab in a real interactive zsh and prints the candidates its completion offers, one
# `<hit>candidate</hit>` per line. Usage: zsh -f zsh-complete.zsh <setup-file> <line>
# <setup-file> holds the lines a user's ~/.zshrc would (fpath, compinit); <line> is what is typed
# before Tab. zle only completes in a terminal, so the shell runs in a pseudo-terminal (zpty).
# compadd is wrapped to print each candidate it is given (the technique of zsh-capture-completion);
# the completion system itself (compinit, _describe, _files) is zsh's own.
setup_file=$1 line=$2
zmodload zsh/zpty || exit 3
zpty completing zsh -f -i

# Reads the terminal until its output holds $1; what was read is in $out. Gives up after about
# 15 s, so a hung shell fails the test rather than hanging it.
await() {
  out=''
  integer tries=0
  while (( tries++ < 300 )); do
    if zpty -r -t completing chunk; then out+=$chunk; else sleep 0.05; fi
    [[ $out == *$1* ]] && return 0
  done
  print -r -- "timed out waiting for $1; the terminal showed: $out" >&2
  return 1
}

zpty -w completing "PROMPT='<''prompt>'; source ${(q)setup_file}"
await '<prompt>' || exit 2
zpty -w completing 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a hits
  builtin compadd -A hits "$@"
  local hit; for hit in $hits; do print -r -- "<hit>$hit</hit>"; done
}
capture-complete() { zle complete-word; print -r -- "<""end>" }
zle -N capture-complete; bindkey "^I" capture-complete'
await '<prompt>' || exit 2
zpty -n -w completing "$line"$'\t'
await '<end>' || exit 2
print -r -- ${(F)${(M)${(f)out//$'\r'/}:#*<hit>*}}
zpty -d completing
