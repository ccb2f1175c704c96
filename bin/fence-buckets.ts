#!/usr/bin/env node
import { read } from 'read';
import { runCli } from '../functions/cli/program';

// The AWS SDK prints a 7-line NodeVersionSupportWarning on every run under Node < 22 (issue 22
// moves the toolchain); an operator's terminal is no place for it. This is the switch the SDK
// itself reads (@aws-sdk/core emitWarningIfUnsupportedVersion), set for this process only and
// before any SDK client exists (they load on first use); an operator who sets it either way keeps
// their choice. Here, not in fence-buckets.mjs, so the packed CLI's bundle has it too.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

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
