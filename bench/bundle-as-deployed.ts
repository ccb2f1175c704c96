import { build } from 'esbuild';
import { BUNDLE_SETTINGS } from '../lib/constructs/broker-function';

/**
 * Bundles `entry` into `outfile` (ESM) exactly as `cdk synth` bundles a function
 * (BUNDLE_SETTINGS), leaving `external` to the runtime: the benches' reference bundles are built
 * the way the functions they are compared with are.
 */
export async function bundleAsDeployed(
  entry: string,
  outfile: string,
  external: string[] = [],
): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE_SETTINGS.target,
    minify: BUNDLE_SETTINGS.minify,
    mainFields: [...BUNDLE_SETTINGS.mainFields],
    banner: { js: BUNDLE_SETTINGS.banner },
    external,
    logLevel: 'error',
  });
  return outfile;
}
