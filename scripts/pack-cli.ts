// `npm run pack:cli [-- --out <dir>]`: the publishable `fence-buckets` package (clients/cli) as a
// tarball, for operators who should not need a clone, CDK or `npm ci` to run the CLI. The CLI is
// bundled with esbuild into one ESM file with no runtime dependencies; `npm pack` packs it with
// the Fence DB migrations `db migrate` applies. Prints the tarball's path on stdout.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const PACKAGE_SOURCE = join(ROOT, 'clients/cli');

interface PackageManifest {
  name: string;
  version: string;
  bin: Record<string, string>;
  dependencies?: Record<string, string>;
}

/**
 * Builds and packs into `outDir` (staging the package in `<outDir>/package`); returns the
 * tarball's absolute path.
 */
export async function packCli(outDir: string): Promise<string> {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageManifest;
  const cli = JSON.parse(readFileSync(join(PACKAGE_SOURCE, 'package.json'), 'utf8')) as PackageManifest;
  // `--version` prints the root's version (functions/cli/version.ts); the tarball must say the same.
  if (cli.version !== root.version) {
    throw new Error(`clients/cli/package.json has version ${cli.version}, the repository ${root.version}`);
  }
  if (Object.keys(cli.dependencies ?? {}).length > 0) {
    throw new Error('clients/cli/package.json must have no dependencies: everything is in the bundle');
  }
  const bin = cli.bin['fence-buckets'];
  if (bin === undefined) throw new Error('clients/cli/package.json has no fence-buckets bin');

  const staging = join(outDir, 'package');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'db/migrations'), { recursive: true });
  for (const file of ['package.json', 'README.md'])
    copyFileSync(join(PACKAGE_SOURCE, file), join(staging, file));
  for (const file of readdirSync(join(ROOT, 'db/migrations')).filter((name) => name.endsWith('.sql'))) {
    copyFileSync(join(ROOT, 'db/migrations', file), join(staging, 'db/migrations', file));
  }
  await build({
    entryPoints: [join(ROOT, 'bin/fence-buckets.ts')],
    outfile: join(staging, bin),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    // Error names reach the operator (`error: UsageError: …`); minifying must not rename them.
    keepNames: true,
    // No source map: it would carry the sources, and nothing in the package needs them.
    sourcemap: false,
    // pg's optional native binding: pg uses its JavaScript client unless asked for `pg.native`.
    external: ['pg-native'],
    // CommonJS dependencies (minio, pg) still call require(), and code finds files beside itself
    // through __dirname (the Fence DB migrations): both exist in an ES module only if defined.
    banner: {
      js: [
        "import { createRequire as __createRequire } from 'node:module';",
        "import { dirname as __pathDirname } from 'node:path';",
        "import { fileURLToPath as __fileURLToPath } from 'node:url';",
        'const require = __createRequire(import.meta.url);',
        'const __filename = __fileURLToPath(import.meta.url);',
        'const __dirname = __pathDirname(__filename);',
      ].join(' '),
    },
    logLevel: 'warning',
  });
  const packed = await run('npm', ['pack', staging, '--pack-destination', outDir, '--json'], {
    cwd: outDir,
    encoding: 'utf8',
  });
  const [report] = JSON.parse(packed.stdout) as { filename: string }[];
  if (report === undefined) throw new Error('npm pack reported no tarball');
  return join(outDir, report.filename);
}

if (require.main === module) {
  const out = process.argv[process.argv.indexOf('--out') + 1];
  const outDir = resolve(
    process.argv.includes('--out') && out !== undefined ? out : join(ROOT, '.local/cli'),
  );
  mkdirSync(outDir, { recursive: true });
  packCli(outDir).then(
    (tarball) => {
      console.error(`packed ${(statSync(tarball).size / 1024).toFixed(0)} KiB`);
      console.log(tarball);
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
