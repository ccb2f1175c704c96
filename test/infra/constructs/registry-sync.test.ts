import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../../lib/app';
import { FENCE_DB_SECRET, REGISTRY_SYNC_CONTEXT, synthesize } from '../synthesized-stack';

const FENCE_ROLE = 'arn:aws:iam::123456789012:role/fence-irsa';

describe('Construct: RegistrySync (scheduled Fence DB → DynamoDB sync)', () => {
  it('is not deployed without fenceDbSecretArn', () => {
    const { stack, template } = synthesize();
    // The drift check has a schedule of its own; no other rule, no sync function.
    expect(Object.keys(template.findResources('AWS::Events::Rule'))).toEqual([
      expect.stringMatching(/^DriftCheck/),
    ]);
    expect(stack.registrySync).toBeUndefined();
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('RegistrySyncFunctionName');
  });

  it('synthesizes offline with the AWS Solutions checks passing, and outputs the function name', () => {
    // Act
    const { app, stack } = buildApp({
      outdir: mkdtempSync(join(tmpdir(), 'fbb-cdk-')),
      context: { fenceRoleArns: FENCE_ROLE, ...REGISTRY_SYNC_CONTEXT },
    });
    const assembly = app.synth();

    // Assess
    expect(assembly.getStackByName(stack.stackName).template.Outputs.RegistrySyncFunctionName).toBeDefined();
  });

  it('runs the function in the named subnets, reading its secret and writing the registry table', () => {
    // Act
    const { template, stack } = synthesize({
      ...REGISTRY_SYNC_CONTEXT,
      vpcSecurityGroupIds: 'sg-0123456789abcdef0',
    });

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Mirrors Fence DB'),
      Runtime: 'nodejs24.x',
      VpcConfig: {
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        SecurityGroupIds: ['sg-0123456789abcdef0'],
      },
      Environment: {
        Variables: Match.objectLike({
          REGISTRY_TABLE_NAME: stack.resolve(stack.registry.tableName),
          FENCE_DB_SECRET_ARN: FENCE_DB_SECRET,
          FENCE_DB_SSL: 'verify',
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        }),
      },
    });
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  it('runs every 5 minutes by default, not retried, and only EventBridge’s rule may invoke it', () => {
    // Act
    const { template, stack } = synthesize(REGISTRY_SYNC_CONTEXT);
    const fn = stack.registrySync!.function;

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({
          Arn: stack.resolve(fn.functionArn),
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission', {
        Properties: { FunctionName: stack.resolve(fn.functionArn) },
      }),
    ).map((permission) => permission.Properties);
    expect(permissions).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: stack.resolve(fn.functionArn),
        Principal: 'events.amazonaws.com',
        SourceArn: stack.resolve(stack.registrySync!.rule.ruleArn),
      },
    ]);
  });

  it.each([
    ['rate(1 hour)', 'rate(1 hour)'],
    ['cron(0/10 * * * ? *)', 'cron(0/10 * * * ? *)'],
    ['15', 'rate(15 minutes)'],
  ])('takes syncSchedule %s', (syncSchedule, expression) => {
    const { template } = synthesize({ ...REGISTRY_SYNC_CONTEXT, syncSchedule });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: expression });
  });

  it.each([
    [{ vpcId: undefined }, /needs the VPC that reaches Fence DB/],
    [{ vpcSubnetIds: '' }, /needs the VPC that reaches Fence DB/],
    [{ vpcId: 'my-vpc' }, /needs the VPC that reaches Fence DB/],
    [
      { vpcSubnetIds: 'subnet-0123456789abcdef0,private-a' },
      /vpcSubnetIds: "private-a" is not a subnet-… id/,
    ],
    [{ vpcSecurityGroupIds: 'default' }, /vpcSecurityGroupIds: "default" is not a sg-… id/],
    [
      { syncSchedule: 'every 5 minutes' },
      /syncSchedule must be rate\(…\), cron\(…\) or a whole number of minutes/,
    ],
    [
      { fenceDbSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fence-db' },
      /must be the secret's full ARN/,
    ],
    [
      { fenceDbSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/db-AbCdEf' },
      /is under gen3\/fence\/, which the presign role reads/,
    ],
  ])('refuses %o', (change, message) => {
    expect(() => synthesize({ ...REGISTRY_SYNC_CONTEXT, ...change })).toThrow(message);
  });

  it('gives the sync the record policy the admin and presign functions hold: the prefix, the max_expires_in cap and the store-endpoint policy', () => {
    // Act
    const { stack } = synthesize({
      ...REGISTRY_SYNC_CONTEXT,
      adminRoleArns: 'arn:aws:iam::123456789012:role/gen3-admin',
      secretsPrefix: 'gen3/team/',
      maxUrlLifetimeSeconds: 900,
      storeEndpointAllowedNetworks: '10.0.0.5/32',
    });
    const variables = (fn: { node: { defaultChild?: unknown } }) =>
      (
        stack.resolve((fn.node.defaultChild as { environment?: unknown }).environment) as {
          variables: Record<string, string>;
        }
      ).variables;

    // Assess
    for (const fn of [stack.registrySync!.function, stack.adminApi!.function, stack.presignApi.function]) {
      expect(variables(fn)).toMatchObject({
        FENCE_SECRETS_PREFIX: 'gen3/team/',
        MAX_URL_LIFETIME_SECONDS: '900',
        STORE_ENDPOINT_ALLOW_HTTP: 'false',
        STORE_ENDPOINT_ALLOWED_NETWORKS: '10.0.0.5/32',
      });
    }
  });

  it('takes a max_expires_in cap of 7 days, and refuses one above it at synth', () => {
    // Act
    const { template } = synthesize({ ...REGISTRY_SYNC_CONTEXT, maxUrlLifetimeSeconds: 604_800 });
    const above = () => synthesize({ ...REGISTRY_SYNC_CONTEXT, maxUrlLifetimeSeconds: 604_801 });

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Mirrors Fence DB'),
      Environment: { Variables: Match.objectLike({ MAX_URL_LIFETIME_SECONDS: '604800' }) },
    });
    expect(above).toThrow('maxUrlLifetimeSeconds 604801 is above 604800 (7 days)');
  });
});
