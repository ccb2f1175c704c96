import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = join(__dirname, '../../..');

/** The README as the repository holds it. */
export function readme(): string {
  return readFileSync(join(REPO, 'README.md'), 'utf8');
}

/**
 * The `index`th fenced block of `language` after the first occurrence of `marker` (a heading or
 * a sentence), exactly as the README shows it: tests run what newcomers paste.
 */
export function readmeBlock(marker: string, language = 'bash', index = 0): string {
  const text = readme();
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`README has no "${marker}"`);
  const blocks = text.slice(at).split(`\`\`\`${language}\n`).slice(1);
  const block = blocks[index]?.split('\n```')[0];
  if (block === undefined) throw new Error(`README has no ${language} block ${index} after "${marker}"`);
  return `${block}\n`;
}

/**
 * Runs README lines with bash in the repository, as a newcomer would paste them; the exit code is
 * the last command's (`pipefail`), and a failure is an answer, not a throw.
 */
export async function runReadmeBash(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('bash', ['-uo', 'pipefail', '-c', script], {
    cwd: REPO,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  }).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}
