import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** The README's security table: one row per threat, its last cell the tests that prove it. */
function securityRows(): { threat: string; proof: string }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Security: what the broker defends against');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| Threat') && !line.startsWith('|---'))
    .map((line) => {
      const cells = line.split(' | ');
      return { threat: cells[0]?.replace(/^\| /, '') ?? '', proof: cells.at(-1)?.replace(/ \|$/, '') ?? '' };
    });
}

/**
 * The section claims each defence is a tested claim; this holds it to that: every test file it
 * cites exists, and every test name it quotes (the parts between `…`) is in one of the row's files.
 */
describe('README: the security section', () => {
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
