import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BrokerFunction } from '../../../lib/constructs/broker-function';
import { ProbeEnvironmentSchema } from '../../fixtures/functions/probe/handler';

const entry = join(__dirname, '../../fixtures/functions/probe/handler.ts');

function stackWith(configure: (stack: Stack) => void): { app: App; stack: Stack } {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'fbb-cdk-')) });
  const stack = new Stack(app, 'FunctionProbe');
  configure(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

describe('Construct: BrokerFunction', () => {
  it('fixes runtime, architecture, tracing, log group, source maps and a role of its own', () => {
    // Prepare
    const { app, stack } = stackWith((stack) => {
      new BrokerFunction(stack, 'Probe', {
        entry,
        description: 'probe',
        environmentSchema: ProbeEnvironmentSchema,
        environment: { PROBE_GREETING: 'hello' },
      });
    });

    // Act
    const template = Template.fromStack(stack);

    // Assess
    expect(() => app.synth()).not.toThrow();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON', LogGroup: Match.anyValue() }),
      Environment: {
        Variables: Match.objectLike({ PROBE_GREETING: 'hello', NODE_OPTIONS: '--enable-source-maps' }),
      },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 365 },
    });
    // No AWS managed policy: the role may write to its own log group and nothing else.
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  it('bundles with esbuild locally into a minified ESM bundle with a source map', () => {
    // Prepare
    const { app } = stackWith((stack) => {
      new BrokerFunction(stack, 'Probe', {
        entry,
        description: 'probe',
        environmentSchema: ProbeEnvironmentSchema,
        environment: { PROBE_GREETING: 'hello' },
      });
    });

    // Act
    const assembly = app.synth();
    const assetDirs = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
    const files = assetDirs.flatMap((dir) => readdirSync(join(assembly.directory, dir)));
    const bundle = readFileSync(join(assembly.directory, assetDirs[0] ?? '', 'index.mjs'), 'utf8');

    // Assess
    expect(assetDirs).toHaveLength(1);
    expect(files).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map']));
    // Minified: internal names such as readEnvironment are gone.
    expect(bundle).not.toContain('readEnvironment');
    expect(bundle).toContain('import.meta.url');
    expect(bundle).toContain('sourceMappingURL=index.mjs.map');
  });

  it('can be placed in a VPC, its own role granted the network interfaces before the function is created', () => {
    // Prepare
    const { app, stack } = stackWith((stack) => {
      const vpc = new ec2.Vpc(stack, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      });
      Validations.of(vpc).acknowledge({
        id: 'AwsSolutions-VPC7',
        reason: 'Throwaway VPC of a construct test.',
      });
      new BrokerFunction(stack, 'Probe', {
        entry,
        description: 'probe',
        environmentSchema: ProbeEnvironmentSchema,
        environment: { PROBE_GREETING: 'hello' },
        vpc,
      });
    });

    // Act
    const template = Template.fromStack(stack);
    const policies = template.findResources('AWS::IAM::Policy');
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));

    // Assess
    expect(() => app.synth()).not.toThrow();
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
    });
    // No AWS managed policy (CDK adds none to a role it is given): the matrix's rules instead.
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'ec2:CreateNetworkInterface' }),
          Match.objectLike({
            Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
            Resource: '*',
          }),
        ]),
      },
    });
    // CreateFunction checks the role's ENI permissions: the policy must exist first.
    expect(functions[0]?.DependsOn).toEqual(expect.arrayContaining(Object.keys(policies)));
  });
});
