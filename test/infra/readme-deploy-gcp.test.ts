import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readmeBlock } from '../integration/support/readme';

const run = promisify(execFile);
const REPO = join(__dirname, '../..');
const EXTERNAL_ACCOUNT = join(__dirname, 'fixtures/gcp-external-account.json');

describe('README: GCP from Lambda', () => {
  it('synthesizes offline with the context shown, shipping the external-account file to the functions', async () => {
    // Prepare: the README's deploy command as a synth into this test's directory, with the
    // fixture standing in for the reader's external-account.json
    const out = mkdtempSync(join(tmpdir(), 'fbb-readme-gcp-'));
    const command = readmeBlock('### GCP from Lambda')
      .replace('npx cdk deploy', `npx cdk synth -q -o ${out}`)
      .replace('gcpExternalAccountFile=external-account.json', `gcpExternalAccountFile=${EXTERNAL_ACCOUNT}`);

    // Act
    await run('bash', ['-euo', 'pipefail', '-c', command], { cwd: REPO, encoding: 'utf8' });

    // Assess
    const template = JSON.parse(readFileSync(join(out, 'FenceBucketBroker.template.json'), 'utf8'));
    const functions = Object.values(
      template.Resources as Record<
        string,
        { Type: string; Properties: { Environment?: { Variables?: Record<string, string> } } }
      >,
    ).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    const google = functions.filter(
      (fn) => fn.Properties.Environment?.Variables?.FENCE_SECRETS_BACKEND === 'aws_sm,gcp_sm',
    );
    expect(google).toHaveLength(3);
    for (const fn of google) {
      expect(fn.Properties.Environment?.Variables?.GOOGLE_APPLICATION_CREDENTIALS).toBe(
        '/var/task/google-external-account.json',
      );
    }
    expect(template.Outputs.GoogleFederatedRoleArns).toBeDefined();
    const shipped = readdirSync(out)
      .filter((name) => name.startsWith('asset.'))
      .filter((dir) => readdirSync(join(out, dir)).includes('google-external-account.json'));
    expect(shipped).toHaveLength(3);
  }, 300_000);
});
