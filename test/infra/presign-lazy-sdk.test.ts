import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_SETTINGS } from '../../lib/constructs/broker-function';
import { PRESIGN_RUNTIME_PROVIDED_MODULES } from '../../lib/constructs/presign-api';

/**
 * The SDK modules the presign bundle leaves to the Lambda runtime are imported only where the
 * code needs them (`await import(…)`). A static import of one, anywhere in the bundle (the Vault
 * backend's AWS auth, say), would be hoisted to the bundle's top and loaded at every cold start.
 */
describe('Bundle: presign function', () => {
  it('imports the runtime-provided SDK modules only dynamically', async () => {
    // Act
    const result = await build({
      entryPoints: [join(__dirname, '../../functions/presign/handler.ts')],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: BUNDLE_SETTINGS.target,
      mainFields: [...BUNDLE_SETTINGS.mainFields],
      external: PRESIGN_RUNTIME_PROVIDED_MODULES,
      logLevel: 'error',
    });
    const code = result.outputFiles[0]?.text ?? '';

    // Assess
    for (const name of PRESIGN_RUNTIME_PROVIDED_MODULES) {
      const quoted = JSON.stringify(name);
      expect(code).not.toMatch(
        new RegExp(`(^|\\n)\\s*import\\b[^;(]*from\\s*${quoted.replace(/[/]/g, '\\/')}`),
      );
      expect(code).not.toMatch(new RegExp(`(^|\\n)\\s*import\\s*${quoted.replace(/[/]/g, '\\/')}`));
    }
    expect(code).toContain('import("@aws-sdk/credential-provider-node")');
  }, 120_000);
});
