#!/usr/bin/env node
import { read } from 'read';
import { runCli } from '../functions/cli/program';

/** `npx fence-buckets …` from a clone, or `fence-buckets …` installed: the admin CLI (docs/cli.md). */
runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: process.stderr.isTTY === true,
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  ...(process.stdin.isTTY
    ? {
        prompt: (question: string, hidden: boolean) =>
          read({ prompt: question, silent: hidden, replace: hidden ? '*' : '' }),
      }
    : {}),
}).then((code) => {
  process.exitCode = code;
});
