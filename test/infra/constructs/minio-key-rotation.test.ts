import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../../lib/app';
import { MinioKeyRotation } from '../../../lib/constructs/minio-key-rotation';

const outdir = () => mkdtempSync(join(tmpdir(), 'fbb-cdk-'));
const context = {
  fenceRoleArns: 'arn:aws:iam::123456789012:role/fence-irsa',
  rotatedMinioSecrets: 'gen3/fence/minio/dataset',
};

describe('Construct: MinioKeyRotation', () => {
  it('lets only Secrets Manager, for this account, invoke the function', () => {
    const { stack } = buildApp({ outdir: outdir(), context });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  it('writes only secrets under the prefix that name this function as their rotation Lambda', () => {
    const { stack } = buildApp({ outdir: outdir(), context });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: Match.arrayWith([
              'secretsmanager:PutSecretValue',
              'secretsmanager:UpdateSecretVersionStage',
            ]),
            Condition: {
              StringEquals: { 'secretsmanager:resource/AllowRotationLambdaArn': Match.anyValue() },
            },
            Resource: Match.objectLike({
              'Fn::Join': Match.arrayWith([Match.arrayWith([':secret:gen3/fence/*'])]),
            }),
          }),
        ],
      },
    });
  });

  it("reads the registry (Scan only, no writes) and gets the readers' settings for the retirement grace", () => {
    // Prepare
    const { stack } = buildApp({ outdir: outdir(), context });
    const template = Template.fromStack(stack);
    const rotationRole = Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) =>
      id.startsWith('MinioKeyRotation'),
    )?.[0];

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          REGISTRY_TABLE_NAME: Match.anyValue(),
          FENCE_SECRET_CACHE_TTL_SECONDS: '300',
          FENCE_SECRET_CACHE_MAX_STALE_SECONDS: '3600',
          FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS: '3600',
          FENCE_ROTATION_MARGIN_SECONDS: '600',
        }),
      },
      Role: { 'Fn::GetAtt': [rotationRole, 'Arn'] },
    });
    const dynamoActions = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(String(rotationRole)))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .flatMap((statement: { Action: string | string[] }) => [statement.Action].flat())
      .filter((action: string) => action.startsWith('dynamodb:'));
    expect(dynamoActions).toContain('dynamodb:Scan');
    expect(dynamoActions).toEqual(['dynamodb:Scan']);
  });

  it('attaches a rotation schedule to each named secret', () => {
    const { stack } = buildApp({ outdir: outdir(), context });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
  });

  it('refuses an interval no longer than cache TTL + URL lifetime + stale window + margin + rotation window', () => {
    const stack = new Stack(new App({ outdir: outdir() }), 'Probe');
    const rotation = new MinioKeyRotation(stack, 'Rotation');
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'gen3/fence/minio/x');
    expect(() =>
      rotation.rotate('TooSoon', secret, Duration.days(1), { maxUrlLifetime: Duration.days(1) }),
    ).toThrow(/too short/);
    // A day of URL lifetime plus a day of rotation window no longer fit in two days.
    expect(() =>
      rotation.rotate('WindowTooSoon', secret, Duration.days(2), { maxUrlLifetime: Duration.days(1) }),
    ).toThrow(/too short/);
    expect(() =>
      rotation.rotate('Fine', secret, Duration.days(3), { maxUrlLifetime: Duration.days(1) }),
    ).not.toThrow();
  });

  it('can be placed in a VPC for private MinIO endpoints, and still passes the AWS Solutions checks', () => {
    // Prepare
    const app = new App({ outdir: outdir() });
    const stack = new Stack(app, 'Private');
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    Validations.of(vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason: 'Throwaway VPC of a construct test.',
    });
    new MinioKeyRotation(stack, 'Rotation', { vpc });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act + Assess
    expect(() => app.synth()).not.toThrow();
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Timeout: 60,
      MemorySize: 1024,
    });
  });
});
