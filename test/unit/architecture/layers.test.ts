import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const root = join(__dirname, '../../..');
const depcruise = join(root, 'node_modules/.bin/depcruise');
const run = promisify(execFile);

interface LayerRow {
  layer: number;
  path: string;
  mayImport: string;
}

/** The layer table of docs/architecture.md, as .dependency-cruiser.cjs reads it. */
function layerRows(): LayerRow[] {
  const map = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const block = map.slice(map.indexOf('<!-- layers:begin'), map.indexOf('<!-- layers:end -->'));
  return block.split('\n').flatMap((line) => {
    const row = /^\|\s*(\d+)\s*\|\s*`([^`]+)`\s*\|[^|]*\|\s*([^|]+?)\s*\|$/.exec(line);
    return row ? [{ layer: Number(row[1]), path: row[2] ?? '', mayImport: row[3] ?? '' }] : [];
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs)$/.test(name) ? [path] : [];
  });
}

/** Runs the architecture check in `cwd`; resolves with its exit code and output. */
async function cruise(cwd: string, targets: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(depcruise, ['--config', '.dependency-cruiser.cjs', ...targets], { cwd });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('Architecture: the layers of docs/architecture.md', () => {
  const rows = layerRows();

  it('places every source file of functions/, lib/ and bin/ in a listed folder, and lists no folder that is gone', () => {
    // Prepare
    const files = [...sourceFiles('functions'), ...sourceFiles('lib'), ...sourceFiles('bin')];

    // Act
    const unplaced = files.filter((file) => !rows.some((row) => file.startsWith(row.path)));
    const stale = rows.filter((row) => !files.some((file) => file.startsWith(row.path)));

    // Assess
    expect(rows.length).toBeGreaterThan(20);
    expect(unplaced).toEqual([]);
    expect(stale).toEqual([]);
  });

  it('says for each folder exactly what its layer may import', () => {
    const wrong = rows.filter(
      (row) => row.mayImport !== (row.layer === 1 ? 'nothing' : `layers 1–${row.layer - 1}`),
    );
    expect(wrong).toEqual([]);
  });

  it('is kept by the code: no upward import, no import between folders of one layer, no loop', async () => {
    const { code, output } = await cruise(root, ['functions', 'lib', 'bin']);
    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  }, 60_000);

  it('fails on a loop, an upward import and an import between two backends', async () => {
    // Prepare: a copy of the rules and the map, over a tree that breaks each once.
    const dir = mkdtempSync(join(tmpdir(), 'fbb-layers-'));
    try {
      for (const file of ['.dependency-cruiser.cjs', 'docs/architecture.md']) {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        copyFileSync(join(root, file), join(dir, file));
      }
      const tree: Record<string, string> = {
        'functions/shared/errors.ts': 'export const fault = 1;\n',
        // secrets (layer 5) reaching up into registry (layer 6), which imports it back: a loop too.
        'functions/shared/secrets/secret-resolver.ts':
          "import { recordName } from '../registry/bucket-record.ts';\nexport const ref = recordName;\n",
        'functions/shared/registry/bucket-record.ts': [
          "import { fault } from '../errors.ts';",
          "import { ref } from '../secrets/secret-resolver.ts';",
          'export const recordName = String(fault) + ref;',
          '',
        ].join('\n'),
        // Two backends of one layer.
        'functions/shared/backends/vault/vault-client.ts':
          "import { token } from '../gcp/google-http.ts';\nexport const client = token;\n",
        'functions/shared/backends/gcp/google-http.ts': "export const token = 'x';\n",
      };
      for (const [file, text] of Object.entries(tree)) {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file), text);
      }

      // Act
      const { code, output } = await cruise(dir, ['functions']);

      // Assess
      expect(code).not.toBe(0);
      expect(output).toMatch(/no-circular: functions\/shared\/(secrets|registry)\//);
      expect(output).toContain(
        'layer-5:functions/shared/secrets/: functions/shared/secrets/secret-resolver.ts → functions/shared/registry/bucket-record.ts',
      );
      expect(output).toContain(
        'layer-6:functions/shared/backends/vault/: functions/shared/backends/vault/vault-client.ts → functions/shared/backends/gcp/google-http.ts',
      );
      // The downward import in the same tree is not reported.
      expect(output).not.toMatch(
        /layer-6:functions\/shared\/registry\/: \S+ → functions\/shared\/errors\.ts/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
