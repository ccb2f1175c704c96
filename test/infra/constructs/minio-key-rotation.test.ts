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
import { evaluate } from '../iam/policy-evaluator';
import { ADMIN_SECRET, executionRoleStatements, synthesize } from '../synthesized-stack';

const outdir = () => mkdtempSync(join(tmpdir(), 'fbb-cdk-'));
const context = {
  fenceRoleArns: 'arn:aws:iam::123456789012:role/fence-irsa',
  rotatedMinioSecrets: 'gen3/fence/minio/dataset',
  minioAdminSecretArns: ADMIN_SECRET,
};

describe('Construct: MinioKeyRotation', () => {
  it('lets only Secrets Manager, for this account, invoke the function: every such permission has SourceAccount', () => {
    // Prepare
    const { template } = synthesize(context);

    // Act
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission', {
        Properties: { Principal: 'secretsmanager.amazonaws.com' },
      }),
    ).map((permission) => permission.Properties);

    // Assess
    expect(permissions.length).toBeGreaterThanOrEqual(1);
    for (const permission of permissions) {
      expect(permission).toMatchObject({
        Action: 'lambda:InvokeFunction',
        SourceAccount: { Ref: 'AWS::AccountId' },
      });
    }
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
    const { template } = synthesize(context);
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
    expect(dynamoActions).toEqual(['dynamodb:Scan']);
  });

  it('attaches a rotation schedule to each named secret, never rotating on deploy', () => {
    // Act
    const { stack, template } = synthesize(context);

    // Assess
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: Match.objectLike({
        'Fn::Join': Match.arrayWith([Match.arrayWith([':secret:gen3/fence/minio/dataset'])]),
      }),
      RotationLambdaARN: stack.resolve(stack.rotation!.function.functionArn),
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    });
    // Secrets Manager test-invokes the function when the schedule is set: permission and role first.
    const [schedule] = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'));
    expect(schedule?.DependsOn).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^MinioKeyRotationFunctionInvokedBySecretsManager/),
        expect.stringMatching(/^MinioKeyRotationRotatedSecretsAccess/),
        expect.stringMatching(/^MinioKeyRotationFunctionRoleDefaultPolicy/),
      ]),
    );
  });

  it('adds no grant of its own for a schedule: no GetRandomPassword, no write without the rotation-Lambda condition', () => {
    // Prepare
    const { stack, json } = synthesize(context);
    const statements = executionRoleStatements(json, stack.rotation!.function);
    const dataset = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/minio/dataset-AbCdEf';

    // Act + Assess
    expect(JSON.stringify(statements)).not.toContain('GetRandomPassword');
    for (const action of ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue']) {
      expect(evaluate(statements, { action, resource: dataset })).not.toBe('Allow');
    }
  });

  it('refuses an interval shorter than cache TTL + stale-on-error + URL lifetime + margin + rotation window', () => {
    // Prepare
    const stack = new Stack(new App({ outdir: outdir() }), 'Probe');
    const rotation = new MinioKeyRotation(stack, 'Rotation', { adminSecretArns: [ADMIN_SECRET] });
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'gen3/fence/minio/x');
    const rotate = (id: string, every: Duration, readers: Parameters<typeof rotation.rotate>[3]) => () =>
      rotation.rotate(id, secret, every, readers);

    // Act + Assess
    // 330 s + 3,600 s + 3,600 s + 600 s = 2.25 h of readers, and a scheduled rotation may come a
    // day early: one day is too short even for one-hour URLs.
    expect(rotate('OneDay', Duration.days(1), { maxUrlLifetime: Duration.hours(1) })).toThrow(
      /too short.*rotation window/,
    );
    expect(rotate('TwoDays', Duration.days(2), { maxUrlLifetime: Duration.hours(1) })).not.toThrow();
    // A one-day URL lifetime needs more than two days.
    expect(rotate('TwoDaysLongUrls', Duration.days(2), { maxUrlLifetime: Duration.days(1) })).toThrow(
      /too short/,
    );
    expect(rotate('ThreeDays', Duration.days(3), { maxUrlLifetime: Duration.days(1) })).not.toThrow();
    // Each reader term counts: a longer stale-on-error window pushes two days over the edge.
    expect(
      rotate('LongStale', Duration.days(2), {
        maxUrlLifetime: Duration.hours(1),
        staleOnError: Duration.hours(24),
      }),
    ).toThrow(/too short/);
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
    new MinioKeyRotation(stack, 'Rotation', { adminSecretArns: [ADMIN_SECRET], vpc });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act + Assess
    expect(() => app.synth()).not.toThrow();
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Timeout: 60,
      MemorySize: 1024,
    });
  });

  describe('MinIO admin secrets', () => {
    const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;

    it('reads only the admin secrets it is given: no prefix-wide read', () => {
      // Prepare
      const { stack, json } = synthesize(context);
      const statements = executionRoleStatements(json, stack.rotation!.function);
      const read = (resource: string) =>
        evaluate(statements, { action: 'secretsmanager:GetSecretValue', resource });

      // Act + Assess
      expect(read(ADMIN_SECRET)).toBe('Allow');
      expect(read(secret('gen3/fence/admin/minio/another'))).not.toBe('Allow');
      expect(read(secret('gen3/fence/something-else'))).not.toBe('Allow');
    });

    it('refuses to exist without admin secrets, or with one the presign role could read', () => {
      const rotation = (adminSecretArns?: string[]) => () =>
        new MinioKeyRotation(new Stack(new App({ outdir: outdir() }), 'Probe'), 'Rotation', {
          adminSecretArns: adminSecretArns as string[],
        });
      expect(rotation()).toThrow(/adminSecretArns/);
      expect(rotation([])).toThrow(/adminSecretArns/);
      expect(rotation([secret('gen3/fence/minio-admin/myminio')])).toThrow(/gen3\/fence\/admin\//);
      expect(rotation([secret('gen3/fence/admin/minio/myminio')])).not.toThrow();
      expect(rotation([secret('ops/minio-admin/myminio')])).not.toThrow();
    });

    it('is not deployed without minioAdminSecretArns, and rotated secrets without them fail the synth', () => {
      // Act
      const { template } = synthesize({});

      // Assess
      const rotationFunctions = template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('Rotates MinIO access keys') },
      });
      expect(Object.keys(rotationFunctions)).toEqual([]);
      expect(Object.keys(template.findOutputs('MinioRotationFunctionArn'))).toEqual([]);
      expect(() => synthesize({ rotatedMinioSecrets: 'gen3/fence/minio/dataset' })).toThrow(
        /rotatedMinioSecrets needs minioAdminSecretArns/,
      );
    });
  });
});
