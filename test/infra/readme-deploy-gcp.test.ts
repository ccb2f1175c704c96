import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lambdaFunctions, synthDocumentedDeploy } from './readme-synth';

const EXTERNAL_ACCOUNT = join(__dirname, 'fixtures/gcp-external-account.json');

describe('docs/deploying.md: GCP from Lambda', () => {
  it('synthesizes offline with the context shown, shipping the external-account file to the functions, each acting as its own service account', async () => {
    // Prepare / Act: the page's deploy command as an offline synth, with the fixture standing in
    // for the reader's external-account.json
    const { template, out } = await synthDocumentedDeploy('docs/deploying.md', '## GCP from Lambda', [
      ['gcpExternalAccountFile=external-account.json', `gcpExternalAccountFile=${EXTERNAL_ACCOUNT}`],
    ]);

    // Assess
    const functions = lambdaFunctions(template);
    const google = functions.filter(
      (fn) => fn.Properties.Environment?.Variables?.FENCE_SECRETS_BACKEND === 'aws_sm,gcp_sm',
    );
    expect(google).toHaveLength(3);
    for (const fn of google) {
      expect(fn.Properties.Environment?.Variables?.GOOGLE_APPLICATION_CREDENTIALS).toBe(
        '/var/task/google-external-account.json',
      );
    }
    expect(
      google.map((fn) => fn.Properties.Environment?.Variables?.GCP_IMPERSONATE_SERVICE_ACCOUNT).sort(),
    ).toEqual([
      'fence-admin@gen3-data.iam.gserviceaccount.com',
      'fence-drift@gen3-data.iam.gserviceaccount.com',
      'fence-presign@gen3-data.iam.gserviceaccount.com',
    ]);
    for (const output of [
      'GooglePresignFederatedRoleArn',
      'GoogleAdminFederatedRoleArn',
      'GoogleDriftCheckFederatedRoleArn',
    ]) {
      expect(template.Outputs[output]).toBeDefined();
    }
    const shipped = readdirSync(out)
      .filter((name) => name.startsWith('asset.'))
      .filter((dir) => readdirSync(join(out, dir)).includes('google-external-account.json'));
    expect(shipped).toHaveLength(3);
  }, 300_000);
});
