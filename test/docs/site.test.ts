import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = join(__dirname, '../..');

/** The text of an HTML fragment as a reader sees it: tags dropped, entities VitePress writes decoded. */
function text(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\u200b/g, '')
    .trim();
}

/** The headings of level `level` of a built page, as text, in page order. */
function headings(html: string, level: number): string[] {
  return [...html.matchAll(new RegExp(`<h${level}[^>]*>([\\s\\S]*?)</h${level}>`, 'g'))].map(([, inner]) =>
    text(String(inner)),
  );
}

/** The `id`s of a built page's elements: where its #anchors land. */
function ids(html: string): Set<string> {
  return new Set([...html.matchAll(/\sid="([^"]+)"/g)].map(([, id]) => String(id)));
}

/** The first cell of each body row of every table of a built page, as text. */
function firstCells(html: string): string[] {
  return [...html.matchAll(/<tr>\s*<td[^>]*>([\s\S]*?)<\/td>/g)].map(([, cell]) => text(String(cell)));
}

/**
 * The context keys of the generated table (docs/reference/context-keys.md, written by `npm run
 * docs:reference` from the declaration the CDK app reads them through): the names in backticks
 * of each row's first cell.
 */
function generatedContextKeys(): string[] {
  return readFileSync(join(REPO, 'docs/reference/context-keys.md'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .slice(1)
    .flatMap((row) =>
      [...(row.split('|')[1] ?? '').matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)].map(([, key]) => String(key)),
    );
}

describe('The documentation site (npm run docs)', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'fbb-docs-site-'));
  const page = (name: string) => readFileSync(join(outDir, name), 'utf8');

  beforeAll(async () => {
    // Act: the build `npm run docs` runs (VitePress fails it on a dead link between pages), into
    // a directory of this test's own.
    await run('npx', ['vitepress', 'build', 'docs', '--outDir', outDir], {
      cwd: REPO,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
  }, 600_000);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('builds the home page with a way into each task', () => {
    const home = page('index.html');

    expect(headings(home, 1)).toContain('fence-bucket-broker');
    expect(headings(home, 2)).toEqual(
      expect.arrayContaining(['Operating the broker', 'Connecting Fence and secrets', 'Reference']),
    );
    for (const target of ['deploying', 'configuration', 'managing-buckets', 'rotation', 'drift', 'fence'])
      expect({ target, linked: new RegExp(`href="\\.?/${target}\\.html"`).test(home) }).toEqual({
        target,
        linked: true,
      });
  });

  it('builds the deploying page with its sections', () => {
    const deploying = page('deploying.html');

    expect(headings(deploying, 1)).toContain('Deploying with the CDK');
    expect(headings(deploying, 2)).toEqual(
      expect.arrayContaining([
        'Deploy',
        'Context keys',
        'What it deploys',
        'Try the deployed shape on your machine',
        'GCP from Lambda',
        'Vault from Lambda',
        'Fence on EKS: Helm values and IRSA',
      ]),
    );
  });

  it('shows a row for every context key of the generated table in the built deploying page', () => {
    // Prepare
    const keys = generatedContextKeys();
    const deploying = page('deploying.html');
    const contextSection = deploying.slice(
      deploying.indexOf('id="context-keys"'),
      deploying.indexOf('id="what-it-deploys"'),
    );

    // Act
    const rows = firstCells(contextSection);

    // Assess
    expect(keys).toEqual(expect.arrayContaining(['fenceRoleArns', 'secretsPrefix', 'rotationDays']));
    for (const key of keys)
      expect({ key, row: rows.some((cell) => cell.split(/,\s*/).includes(key)) }).toEqual({ key, row: true });
  });

  it('builds the rotation runbook with its steps in order', () => {
    const rotation = page('rotation.html');

    expect(headings(rotation, 1)).toContain('MinIO key rotation runbook');
    const steps = headings(rotation, 2).filter((heading) => /^\d\. /.test(heading));
    expect(steps).toEqual([
      '1. Set up MinIO',
      "2. Register a bucket's first key",
      '3. Enable rotation',
      '4. Rotate now',
      '5. Pin a bucket to one version',
      '6. When a rotation fails',
    ]);
    expect(headings(rotation, 2)).toContain('MinIO admin client');
  });

  it("lands every link of the README into the guide on a built page and anchor (GitHub readers' way in)", () => {
    // Prepare: the README is not a page of the site, so VitePress's own dead-link check never reads it.
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(docs\/([a-z0-9/-]+)\.md(?:#([a-z0-9-]+))?\)/g)].map(
      ([, path, anchor]) => ({ path: String(path), anchor }),
    );

    // Assess
    expect(links.length).toBeGreaterThan(10);
    for (const { path, anchor } of links) {
      const html = page(`${path}.html`);
      if (anchor !== undefined)
        expect({ path, anchor, lands: ids(html).has(anchor) }).toEqual({ path, anchor, lands: true });
    }
  });

  it('draws the architecture as a Mermaid diagram, not ASCII', () => {
    // Prepare: the diagram is drawn in the browser from the page's own script chunk.
    const architecture = page('architecture.html');
    const chunk = readdirSync(join(outDir, 'assets')).find((file) =>
      /^architecture\.md\.[\w-]+\.js$/.test(file),
    );

    // Assess
    expect(architecture).toContain('<div class="mermaid"');
    expect(architecture).not.toContain('──▶');
    const script = readFileSync(join(outDir, 'assets', String(chunk)), 'utf8');
    expect({ flowchart: script.includes('flowchart'), fenceDb: script.includes('FenceDB') }).toEqual({
      flowchart: true,
      fenceDb: true,
    });
  });
});
