import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { referencePages } from './docs-reference';

/**
 * Writes docs/reference/*.md (`npm run docs:reference`), whole files; a unit test fails while any
 * of them differs from what this would write.
 */
const directory = join(__dirname, '../docs/reference');
mkdirSync(directory, { recursive: true });
for (const [name, page] of Object.entries(referencePages())) {
  writeFileSync(join(directory, name), page);
  console.log(`wrote docs/reference/${name}`);
}
