import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { docBlock } from '../integration/support/doc-block';

const run = promisify(execFile);
const REPO = join(__dirname, '../..');

/** A Lambda function of a synthesized template, with the environment the tests read. */
export interface TemplateFunction {
  Type: string;
  Properties: { Environment?: { Variables?: Record<string, string> } };
}

/**
 * Runs the deploy command after `marker` on the page at `path` (e.g. `docs/deploying.md`) as an offline synth (no AWS credentials or
 * account in its environment) into a directory of its own, with `replacements` applied (a
 * reader's file names become fixtures); answers the stack's template and that directory.
 */
export async function synthDocumentedDeploy(
  path: string,
  marker: string,
  replacements: [string, string][] = [],
): Promise<{
  template: { Resources: Record<string, TemplateFunction>; Outputs: Record<string, unknown> };
  out: string;
}> {
  const out = mkdtempSync(join(tmpdir(), 'fbb-readme-synth-'));
  let command = docBlock(path, marker).replace('npx cdk deploy', `npx cdk synth -q -o ${out}`);
  for (const [from, to] of replacements) command = command.replace(from, to);
  await run('bash', ['-euo', 'pipefail', '-c', command], {
    cwd: REPO,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  return { template: JSON.parse(readFileSync(join(out, 'FenceBucketBroker.template.json'), 'utf8')), out };
}

/** The template's Lambda functions. */
export function lambdaFunctions(template: { Resources: Record<string, TemplateFunction> }) {
  return Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
}
