import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** The security page's table: one row per threat, its last cell the tests that prove it. */
function securityRows(): { threat: string; proof: string }[] {
  const page = readFileSync(join(ROOT, 'docs', 'security.md'), 'utf8');
  if (!page.startsWith('# Security: what the broker defends against\n'))
    throw new Error('docs/security.md does not start with its heading');
  return page
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| Threat') && !line.startsWith('|---'))
    .map((line) => {
      const cells = line.split(' | ');
      return { threat: cells[0]?.replace(/^\| /, '') ?? '', proof: cells.at(-1)?.replace(/ \|$/, '') ?? '' };
    });
}

/**
 * The page claims each defence is a tested claim; this holds it to that: every test file it
 * cites exists, and every test name it quotes (the parts between `…`) is in one of the row's files.
 */
describe('docs/security.md: what the broker defends against', () => {
  const rows = securityRows();

  it('has a row per defended threat', () => {
    expect(rows.length).toBeGreaterThanOrEqual(15);
  });

  it.each(rows.map((row) => [row.threat, row.proof]))('cites tests that exist for "%s"', (_threat, proof) => {
    const files = [...proof.matchAll(/`([^`]+\.(?:test\.ts|py))`/g)].map((match) => match[1] as string);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files)
      expect({ file, exists: existsSync(join(ROOT, file)) }).toEqual({ file, exists: true });

    const sources = files.map((file) => readFileSync(join(ROOT, file), 'utf8')).join('\n');
    const quoted = [...proof.matchAll(/"([^"]+)"/g)].flatMap((match) => (match[1] as string).split('…'));
    for (const fragment of quoted.map((text) => text.trim()).filter((text) => text.length > 0))
      expect({ fragment, cited: sources.includes(fragment) }).toEqual({ fragment, cited: true });
  });
});
