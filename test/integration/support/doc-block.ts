import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(__dirname, '../../..');

/**
 * The `index`th fenced block of `language` after the first occurrence of `marker` (a heading or
 * a sentence) in the page at `path` (from the repository root, e.g. `docs/fence.md`), exactly as
 * the page shows it: tests run what operators paste.
 */
export function docBlock(path: string, marker: string, language = 'bash', index = 0): string {
  const text = readFileSync(join(REPO, path), 'utf8');
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${path} has no "${marker}"`);
  const blocks = text.slice(at).split(`\`\`\`${language}\n`).slice(1);
  const block = blocks[index]?.split('\n```')[0];
  if (block === undefined) throw new Error(`${path} has no ${language} block ${index} after "${marker}"`);
  return `${block}\n`;
}
