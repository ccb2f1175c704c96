import { runCli } from '../../../functions/cli/program';

/** Runs `fence-buckets` in this process with captured output; stdin holds `input`. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}, input = '') {
  let out = '';
  let err = '';
  const code = await runCli(
    args,
    {
      out: (text) => {
        out += text;
      },
      err: (text) => {
        err += text;
      },
      interactive: false,
      stdin: async () => input,
    },
    { ...process.env, ...env },
  );
  return { code, out, err };
}
