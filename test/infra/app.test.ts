import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../lib/app';
import { ADMIN_SECRET, REGISTRY_SYNC_CONTEXT, synthesize } from './synthesized-stack';

const outdir = () => mkdtempSync(join(tmpdir(), 'fbb-cdk-'));
const FENCE_ROLE = 'arn:aws:iam::123456789012:role/fence-irsa';
const context = { fenceRoleArns: FENCE_ROLE };

describe('App: fence-bucket-broker', () => {
  it('synthesizes offline with the AWS Solutions checks passing', () => {
    // Act
    const { app, stack } = buildApp({ outdir: outdir(), context });
    const assembly = app.synth();

    // Assess
    expect(assembly.getStackByName(stack.stackName).template).toBeDefined();
  });

  it('synthesizes with MinIO rotation configured, the AWS Solutions checks passing', () => {
    // Act
    const { app, stack } = buildApp({
      outdir: outdir(),
      context: {
        ...context,
        minioAdminSecretArns:
          'arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/admin/minio/m-AbCdEf',
        rotatedMinioSecrets: 'gen3/fence/minio/dataset',
      },
    });
    const assembly = app.synth();

    // Assess
    expect(assembly.getStackByName(stack.stackName).template.Outputs.MinioRotationFunctionArn).toBeDefined();
  });

  it('deploys the registry table: on demand, PITR, encrypted, protected and retained by default', () => {
    // Act
    const { stack } = buildApp({ outdir: outdir(), context });
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
      context: { ...context, registryRemovalPolicy: 'destroy', registryDeletionProtection: 'false' },
    });

    // Assess
    Template.fromStack(stack).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: { DeletionProtectionEnabled: false },
    });
  });

  it('puts the presign Lambda behind an IAM-authorized API that admits only Fence', () => {
    // Act
    const { stack } = buildApp({ outdir: outdir(), context });
    const template = Template.fromStack(stack);

    // Assess
    const methods = template.findResources('AWS::ApiGateway::Method');
    expect(Object.keys(methods)).toHaveLength(6);
    for (const method of Object.values(methods)) {
      expect(method.Properties).toMatchObject({ HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
    }
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'execute-api:Invoke', Effect: 'Allow', Principal: { AWS: FENCE_ROLE } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Environment: {
        Variables: Match.objectLike({
          FENCE_SECRETS_PREFIX: 'gen3/fence/',
          REGISTRY_TABLE_NAME: Match.anyValue(),
        }),
      },
    });
  });

  it('lets the runtime role assume only the role ARNs it is given', () => {
    const role = 'arn:aws:iam::210987654321:role/gen3-bucket-access';
    const { stack } = buildApp({ outdir: outdir(), context: { ...context, assumableRoleArns: role } });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'sts:AssumeRole', Resource: role })]),
      },
    });
  });

  it('bundles the presign Lambda under 600 KB with no SDK client loaded at start-up', () => {
    // Act
    const { app } = buildApp({ outdir: outdir(), context });
    const assembly = app.synth();
    const bundles = readdirSync(assembly.directory)
      .filter((name) => name.startsWith('asset.'))
      .map((dir) => join(assembly.directory, dir, 'index.mjs'))
      .filter((file) => existsSync(file));
    const presign = bundles
      .map((file) => readFileSync(file, 'utf8'))
      .find((code) => code.includes('presign-batch'));

    // Assess
    expect(presign).toBeDefined();
    expect(Buffer.byteLength(presign ?? '')).toBeLessThan(600 * 1024);
    // Static imports of SDK clients would load them at cold start; only dynamic import() is allowed.
    expect(presign).not.toMatch(/from\s*"@aws-sdk\//);
    expect(presign).toContain('import("@aws-sdk/client-sts")');
  });

  it('refuses to synthesize a presign API nobody may call', () => {
    expect(() => buildApp({ outdir: outdir() })).toThrow(/fenceRoleArns/);
  });

  describe('operator mistakes refused at synth', () => {
    const ADMIN = 'arn:aws:iam::123456789012:role/broker-admin';

    it.each([
      ['a wildcard', '*'],
      ['a wildcard role name', 'arn:aws:iam::123456789012:role/*'],
      ['an account', '123456789012'],
      ['an account root', 'arn:aws:iam::123456789012:root'],
      ['a user', 'arn:aws:iam::123456789012:user/fence'],
      ['an assumed-role session', 'arn:aws:sts::123456789012:assumed-role/fence-irsa/session'],
      ['a role name alone', 'fence-irsa'],
    ])('refuses %s in fenceRoleArns or adminRoleArns, naming the key', (_, value) => {
      expect(() => buildApp({ outdir: outdir(), context: { fenceRoleArns: value } })).toThrow(
        /context fenceRoleArns: .* is not a full IAM role ARN/,
      );
      expect(() =>
        buildApp({ outdir: outdir(), context: { ...context, adminRoleArns: `${ADMIN},${value}` } }),
      ).toThrow(/context adminRoleArns: .* is not a full IAM role ARN/);
    });

    it('accepts full role ARNs, with a path and in any partition', () => {
      const { stack } = buildApp({
        outdir: outdir(),
        context: {
          fenceRoleArns: [
            'arn:aws:iam::123456789012:role/eks/fence-irsa',
            'arn:aws-cn:iam::123456789012:role/f',
          ],
          adminRoleArns: ADMIN,
        },
      });
      expect(stack.adminApi).toBeDefined();
    });

    it.each([
      ['no trailing slash (the Deny would land on gen3/fenceadmin/*)', 'gen3/fence'],
      ['a wildcard (every secret)', '*'],
      ['a wildcard inside', 'gen3/*/'],
      ['a question mark', 'gen3/fence?/'],
      ['nothing but a slash', '/'],
      ['an empty name', ''],
    ])('refuses a secretsPrefix with %s, naming the key', (_, value) => {
      expect(() => buildApp({ outdir: outdir(), context: { ...context, secretsPrefix: value } })).toThrow(
        /context secretsPrefix/,
      );
    });

    it('accepts a prefix that ends with a slash', () => {
      const { stack } = buildApp({
        outdir: outdir(),
        context: { ...context, secretsPrefix: 'gen3/prod-fence/' },
      });
      Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ FENCE_SECRETS_PREFIX: 'gen3/prod-fence/' }) },
      });
    });
  });

  it('acknowledges no AWS managed policy the template does not attach (in Fence DB’s VPC too)', () => {
    // Prepare
    const { stack, template } = synthesize({
      adminRoleArns: 'arn:aws:iam::123456789012:role/broker-admin',
      ...REGISTRY_SYNC_CONTEXT,
    });

    // Act
    const acknowledged = stack.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
      .flatMap(
        (id) =>
          /(?:^|::)AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/(.+)\]$/.exec(id)?.[1] ??
          [],
      );
    const attached = JSON.stringify(
      Object.values(template.findResources('AWS::IAM::Role')).map(
        (role) => role.Properties.ManagedPolicyArns,
      ),
    );

    // Assess
    expect(acknowledged.filter((policy) => !attached.includes(`:iam::aws:policy/${policy}`))).toEqual([]);
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

  describe('sizing for Fence: stage throttling and reserved concurrency', () => {
    const functionsOf = (template: Template) =>
      Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties);
    const presignFunction = (template: Template) =>
      functionsOf(template).find((fn) => String(fn.Description).startsWith('Presigns'));
    const rotationFunction = (template: Template) =>
      functionsOf(template).find((fn) => String(fn.Description).startsWith('Rotates'));

    it('throttles the stage at 500 requests/s (burst 1000) and reserves 100 presign and 5 rotation executions by default', () => {
      // Act
      const { template } = synthesize({ minioAdminSecretArns: ADMIN_SECRET });

      // Assess
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: 'prod',
        MethodSettings: Match.arrayWith([
          Match.objectLike({
            HttpMethod: '*',
            ResourcePath: '/*',
            ThrottlingRateLimit: 500,
            ThrottlingBurstLimit: 1000,
          }),
        ]),
      });
      expect(presignFunction(template)?.ReservedConcurrentExecutions).toBe(100);
      expect(rotationFunction(template)?.ReservedConcurrentExecutions).toBe(5);
    });

    it('takes each from context, 0 or none meaning no reservation', () => {
      // Act
      const { template } = synthesize({
        minioAdminSecretArns: ADMIN_SECRET,
        presignThrottleRate: '50',
        presignThrottleBurst: 80,
        presignReservedConcurrency: 'none',
        rotationReservedConcurrency: '0',
      });
      const { template: reserved } = synthesize({
        minioAdminSecretArns: ADMIN_SECRET,
        presignReservedConcurrency: '20',
        rotationReservedConcurrency: 2,
      });

      // Assess
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        MethodSettings: Match.arrayWith([
          Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 }),
        ]),
      });
      expect(presignFunction(template)).not.toHaveProperty('ReservedConcurrentExecutions');
      expect(rotationFunction(template)).not.toHaveProperty('ReservedConcurrentExecutions');
      expect(presignFunction(reserved)?.ReservedConcurrentExecutions).toBe(20);
      expect(rotationFunction(reserved)?.ReservedConcurrentExecutions).toBe(2);
    });

    it('reserves 5 admin, 1 sync and 1 drift-check executions by default, each from context, none meaning no reservation', () => {
      // Prepare
      const everything = {
        ...REGISTRY_SYNC_CONTEXT,
        adminRoleArns: 'arn:aws:iam::123456789012:role/gen3-admin',
      };
      const admin = (template: Template) =>
        functionsOf(template).find((fn) => String(fn.Description).startsWith('Registers and manages'));
      const sync = (template: Template) =>
        functionsOf(template).find((fn) => String(fn.Description).startsWith('Mirrors Fence DB'));
      const drift = (template: Template) =>
        functionsOf(template).find((fn) => String(fn.Description).includes('drift check'));

      // Act
      const { template: defaults } = synthesize(everything);
      const { template: set } = synthesize({
        ...everything,
        adminReservedConcurrency: '2',
        syncReservedConcurrency: 3,
        driftReservedConcurrency: '4',
      });
      const { template: none } = synthesize({
        ...everything,
        adminReservedConcurrency: 'none',
        syncReservedConcurrency: '0',
        driftReservedConcurrency: 'none',
      });

      // Assess
      expect(
        [defaults, set].map((t) =>
          [admin(t), sync(t), drift(t)].map((fn) => fn?.ReservedConcurrentExecutions),
        ),
      ).toEqual([
        [5, 1, 1],
        [2, 3, 4],
      ]);
      for (const fn of [admin(none), sync(none), drift(none)]) {
        expect(fn).toBeDefined();
        expect(fn).not.toHaveProperty('ReservedConcurrentExecutions');
      }
      expect(() => synthesize({ ...everything, driftReservedConcurrency: 'one' })).toThrow(
        /driftReservedConcurrency/,
      );
    });

    it('refuses values that are not counts, naming the setting', () => {
      expect(() => synthesize({ presignThrottleRate: 'fast' })).toThrow(/presignThrottleRate/);
      expect(() => synthesize({ presignThrottleBurst: '-1' })).toThrow(/presignThrottleBurst/);
      expect(() => synthesize({ presignReservedConcurrency: '2.5' })).toThrow(/presignReservedConcurrency/);
      expect(() => synthesize({ rotationDays: 'monthly' })).toThrow(/rotationDays/);
      expect(() =>
        synthesize({ minioAdminSecretArns: ADMIN_SECRET, rotationReservedConcurrency: 'many' }),
      ).toThrow(/rotationReservedConcurrency/);
    });
  });
});
