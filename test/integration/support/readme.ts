import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The README as the repository holds it. */
export function readme(): string {
  return readFileSync(join(__dirname, '../../../README.md'), 'utf8');
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
