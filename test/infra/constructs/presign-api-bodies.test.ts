import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../../lib/app';

describe('Construct: PresignApi request bodies', () => {
  it('treats every media type as binary, so bodies reach the handler as sent (base64) and invalid UTF-8 is refused', () => {
    // Act
    const { stack } = buildApp({
      outdir: mkdtempSync(join(tmpdir(), 'fbb-cdk-')),
      context: { fenceRoleArns: 'arn:aws:iam::123456789012:role/fence-irsa' },
    });

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: ['*/*'],
    });
  });
});
