import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IAM_ROTATION_TAG } from '../../functions/shared/rotation/iam-rotation-secret';
import { IAM_KEY_ROTATION_MATRIX, ROTATION_USER_TAG_KEYS } from '../../lib/iam/iam-matrix';
import { lambdaFunctions, synthDocumentedDeploy } from './readme-synth';

const PAGE = 'docs/rotation.md';
const SECTION = '## Deploying IAM user key rotation';

describe('docs/rotation.md: deploying IAM user key rotation', () => {
  it('synthesizes offline with the command shown: the bundled function, its user path and the IamKeyRotationFunctionArn output', async () => {
    // Prepare / Act: the page's deploy command as an offline synth (esbuild bundles every function)
    const { template, out } = await synthDocumentedDeploy(PAGE, SECTION);

    // Assess
    const rotation = lambdaFunctions(template).filter(
      (fn) => fn.Properties.Environment?.Variables?.ROTATED_IAM_USER_PATH !== undefined,
    );
    expect(rotation).toHaveLength(1);
    expect(rotation[0]?.Properties.Environment?.Variables?.ROTATED_IAM_USER_PATH).toBe('/gen3-buckets/');
    const asset = (rotation[0] as unknown as { Metadata: Record<string, string> }).Metadata['aws:asset:path'];
    expect(existsSync(join(out, String(asset), 'index.mjs'))).toBe(true);
    expect(template.Outputs.IamKeyRotationFunctionArn).toBeDefined();
    expect(JSON.stringify(template)).toContain(':user/gen3-buckets/*');
  }, 300_000);

  it('names what the role may do as the IAM matrix states it', () => {
    // Prepare
    const page = readFileSync(join(__dirname, '../..', PAGE), 'utf8');
    const section = page.slice(page.indexOf(SECTION)).split(/\n## /)[0] ?? '';
    const { manageUserKeys, stampUsers, rotateTaggedSecrets } = IAM_KEY_ROTATION_MATRIX.rules;

    // Assess
    for (const action of [...manageUserKeys.actions, ...stampUsers.actions]) {
      expect(section).toContain(`\`${action}\``);
    }
    expect(section).toContain(`\`${ROTATION_USER_TAG_KEYS}\``);
    for (const action of rotateTaggedSecrets.actions) {
      expect(section).toContain(action.replace('secretsmanager:', ''));
    }
    expect(section).toContain(`\`${IAM_ROTATION_TAG.key}=${IAM_ROTATION_TAG.value}\``);
    expect(section).toContain('`IamKeyRotationFunctionArn`');
  });
});
