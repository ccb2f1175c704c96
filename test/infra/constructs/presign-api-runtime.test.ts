import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { PRESIGN_FUNCTION_TIMEOUT_SECONDS } from '../../../functions/presign/budgets';
import { buildApp } from '../../../lib/app';

const build = () =>
  buildApp({
    outdir: mkdtempSync(join(tmpdir(), 'fbb-cdk-')),
    context: { fenceRoleArns: 'arn:aws:iam::123456789012:role/fence-irsa' },
  }).stack;

describe('Construct: PresignApi, what the errors slice relies on', () => {
  it('gives the presign function the timeout its call budgets are sized for', () => {
    // Act
    const template = Template.fromStack(build());

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Presigns URLs for registered buckets (fence-bucket-broker)',
      Timeout: PRESIGN_FUNCTION_TIMEOUT_SECONDS,
    });
  });

  it('treats every media type as binary, so bodies reach the handler as sent (base64) and invalid UTF-8 is refused', () => {
    // Act
    const template = Template.fromStack(build());

    // Assess
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: ['*/*'],
    });
  });
});
