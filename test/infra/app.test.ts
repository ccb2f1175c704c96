import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../lib/app';

const outdir = () => mkdtempSync(join(tmpdir(), 'fbb-cdk-'));

describe('App: fence-bucket-broker', () => {
  it('synthesizes offline with the AWS Solutions checks passing', () => {
    // Act
    const { app, stack } = buildApp({ outdir: outdir() });
    const assembly = app.synth();

    // Assess
    expect(assembly.getStackByName(stack.stackName).template).toBeDefined();
  });

  it('deploys the registry table: on demand, PITR, encrypted, protected and retained by default', () => {
    // Act
    const { stack } = buildApp({ outdir: outdir() });
    const template = Template.fromStack(stack);

    // Assess
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'bucket_name', KeyType: 'HASH' }],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          Match.objectLike({ IndexName: 'by-id', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] }),
        ],
      },
    });
    template.hasOutput('RegistryTableName', {});
  });

  it('lets the operator make the table disposable through context', () => {
    // Act
    const { stack } = buildApp({
      outdir: outdir(),
      context: { registryRemovalPolicy: 'destroy', registryDeletionProtection: 'false' },
    });

    // Assess
    Template.fromStack(stack).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: { DeletionProtectionEnabled: false },
    });
  });

  it('fails synthesis on an unacknowledged AWS Solutions finding (the checks really run)', () => {
    // Prepare
    const app = new App({ outdir: outdir() });
    const stack = new Stack(app, 'Probe');
    new dynamodb.Table(stack, 'NoRecovery', {
      partitionKey: { name: 'k', type: dynamodb.AttributeType.STRING },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act + Assess
    expect(() => app.synth()).toThrow(/AwsSolutions-DDB3/);
  });
});
