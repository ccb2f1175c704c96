import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import * as errors from '../../../functions/shared/errors';
import { BUNDLE_SETTINGS } from '../../../lib/constructs/broker-function';

/*
 * The deployed bundles are minified: an error whose name came from its class (`new.target.name`)
 * reached Lambda's errorType and the logs as `U` (found by npm run test:deployed). Each error
 * class states its name instead.
 */
describe('Errors: names that survive minification', () => {
  const source = readFileSync(join(__dirname, '../../../functions/shared/errors.ts'), 'utf8');
  const classes = [...source.matchAll(/^export class (\w+) extends \w+ \{\n([\s\S]*?)^\}/gm)];

  it('has every error class state its own name', () => {
    expect(classes.length).toBeGreaterThan(20);
    const unnamed = classes
      .filter(([, name, body]) => !body?.includes(`override readonly name: string = '${name}';`))
      .map(([, name]) => name);
    expect(unnamed).toEqual([]);
  });

  it('keeps the names in a bundle minified as the deployed functions are', async () => {
    // Act: the error module bundled with the functions' settings, then loaded.
    const bundled = await build({
      stdin: {
        contents:
          "import * as errors from './errors'; export const names = [new errors.ConfigurationError('x').name, new errors.SecretNotFoundError('gen3/fence/x').name];",
        resolveDir: join(__dirname, '../../../functions/shared'),
        loader: 'ts',
      },
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: BUNDLE_SETTINGS.target,
      minify: BUNDLE_SETTINGS.minify,
      logLevel: 'silent',
    });
    const module = { exports: {} as { names?: string[] } };
    new Function('module', 'exports', 'require', bundled.outputFiles[0]?.text ?? '')(
      module,
      module.exports,
      require,
    );

    // Assess
    expect(module.exports.names).toEqual(['ConfigurationError', 'SecretNotFoundError']);
    expect(Object.keys(errors)).toContain('ConfigurationError');
  });
});
