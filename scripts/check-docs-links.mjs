#!/usr/bin/env node
// `npm run docs:check`: every link of the built documentation site (`npm run docs` first) must
// resolve, page links and #anchors alike. linkinator serves the dist directory itself and crawls
// from the home page. Links off the site are skipped: CI runs offline, and a check that fails
// whenever a third-party page moves would teach people to ignore it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LinkChecker } from 'linkinator';

const dist = join(import.meta.dirname, '..', 'docs', '.vitepress', 'dist');
if (!existsSync(join(dist, 'index.html'))) {
  console.error(`docs:check: no built site in ${dist}; run \`npm run docs\` first`);
  process.exit(2);
}

const checker = new LinkChecker();
const result = await checker.check({
  path: dist,
  recurse: true,
  checkFragments: true,
  linksToSkip: async (link) =>
    !/^https?:\/\/(localhost|127\.0\.0\.1)[:/]/.test(link) && /^[a-z]+:/i.test(link),
});
const broken = result.links.filter((link) => link.state === 'BROKEN');
for (const link of broken)
  console.error(`broken: ${link.url} (on ${link.parent ?? '?'}, status ${link.status ?? '-'})`);
const checked = result.links.filter((link) => link.state === 'OK').length;
const skipped = result.links.filter((link) => link.state === 'SKIPPED').length;
console.error(`docs:check: ${checked} links ok, ${broken.length} broken, ${skipped} off-site skipped`);
process.exit(result.passed ? 0 : 1);
