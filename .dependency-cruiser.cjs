// The import rules of docs/architecture.md, built from its layer table so the map and the check
// cannot disagree: `npm run lint:architecture` (part of `npm test`).
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

/** The rows between the layers markers of docs/architecture.md: `| layer | `path` | owns | may import |`. */
function readLayers(root) {
  const map = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const begin = map.indexOf('<!-- layers:begin');
  const end = map.indexOf('<!-- layers:end -->');
  if (begin < 0 || end < begin) throw new Error('docs/architecture.md has no layers:begin/layers:end block');
  const units = [];
  for (const line of map.slice(begin, end).split('\n')) {
    const row = /^\|\s*(\d+)\s*\|\s*`([^`]+)`\s*\|/.exec(line);
    if (row) units.push({ layer: Number(row[1]), path: row[2] });
  }
  if (units.length === 0) throw new Error('docs/architecture.md lists no layers');
  return units;
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const prefix = (unit) => `^${escapeRegExp(unit.path)}`;

/** One rule per folder: nothing from a folder may reach a folder of its own layer or above. */
function layerRules(units) {
  return units.flatMap((unit) => {
    // Longer paths inside this one are folders of their own, with rules of their own.
    const nested = units.filter((other) => other !== unit && other.path.startsWith(unit.path));
    const upward = units.filter((other) => other !== unit && other.layer >= unit.layer);
    if (upward.length === 0) return [];
    return {
      name: `layer-${unit.layer}:${unit.path}`,
      comment: `${unit.path} (layer ${unit.layer}) may import only layers below ${unit.layer} (docs/architecture.md)`,
      severity: 'error',
      from: { path: prefix(unit), ...(nested.length ? { pathNot: nested.map(prefix) } : {}) },
      to: {
        path: upward.map(prefix),
        // A folder nested in another (backends/vault/ in backends/) is not its parent.
        ...(upward.some((other) => unit.path.startsWith(other.path)) ? { pathNot: [`${prefix(unit)}`] } : {}),
      },
    };
  });
}

const units = readLayers(__dirname);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import loops, type-only imports included (docs/architecture.md)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-cdk-in-functions',
      comment: 'domain and handler code never imports aws-cdk-lib or constructs (STYLE.md)',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^node_modules/(aws-cdk-lib|constructs)/' },
    },
    ...layerRules(units),
  ],
  options: {
    tsPreCompilationDeps: true,
    ...(existsSync(join(process.cwd(), 'tsconfig.json')) ? { tsConfig: { fileName: 'tsconfig.json' } } : {}),
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
