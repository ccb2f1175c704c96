import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { docBlock } from './doc-block';

const run = promisify(execFile);
const REPO = join(__dirname, '../../..');

/** The README as the repository holds it. */
export function readme(): string {
  return docPage('README.md');
}

/** A page of the guide (or the README) as the repository holds it: `path` from the repository root. */
export function docPage(path: string): string {
  return readFileSync(join(REPO, path), 'utf8');
}

/**
 * The part of the page at `path` from `heading` (e.g. `## Two AWS emulators`) to the next heading
 * of the same or a higher level, or the page's end: a section's prose and tables.
 */
export function docSection(path: string, heading: string): string {
  const text = docPage(path);
  const at = text.indexOf(`${heading}\n`);
  if (at < 0) throw new Error(`${path} has no heading "${heading}"`);
  const level = heading.match(/^#+/)?.[0].length ?? 2;
  const rest = text.slice(at + heading.length);
  const next = rest.search(new RegExp(`\\n#{1,${level}} `));
  return next < 0 ? text.slice(at) : text.slice(at, at + heading.length + next);
}

/**
 * The `index`th fenced block of `language` after the first occurrence of `marker` in the README,
 * exactly as it shows it: tests run what newcomers paste. Blocks of the guide's pages are read
 * with `docBlock` (`doc-block.ts`).
 */
export function readmeBlock(marker: string, language = 'bash', index = 0): string {
  return docBlock('README.md', marker, language, index);
}

/**
 * Runs documented lines (the README's or a page's) with bash in the repository, as a newcomer
 * would paste them; the exit code is the last command's (`pipefail`), and a failure is an answer, not a throw.
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
