import { DEMOTED_TAG_PREFIX } from '../../../functions/shared/rotation/iam-key-retirement-plan';
import { IAM_ROTATION_TAG } from '../../../functions/shared/rotation/iam-rotation-secret';
import { CREATING_TAG } from '../../../functions/shared/rotation/iam-user-key-rotation';
import { buildApp } from '../../../lib/app';
import { CONTEXT_KEYS } from '../../../lib/config/context-keys';
import { ROTATION_USER_TAG_KEYS } from '../../../lib/iam/iam-matrix';
import { evaluate, wildcardMatch } from '../iam/policy-evaluator';
import { ADMIN_SECRET, concrete, executionRoleStatements, outdir, synthesize } from '../synthesized-stack';

const FENCE_ROLE = 'arn:aws:iam::123456789012:role/fence-irsa';
const USER_PATH = '/gen3-buckets/';
// Templates only: the bundle is built by the documented `cdk synth` (test/infra/docs-iam-key-rotation.test.ts).
const context = { rotatedIamUserPath: USER_PATH, 'aws:cdk:bundling-stacks': [] };

/** The Lambda functions of a template whose environment names the rotated users' path. */
function iamRotationFunctions(json: ReturnType<typeof synthesize>['json']) {
  return Object.entries(json.Resources).filter(
    ([, resource]) =>
      resource.Type === 'AWS::Lambda::Function' &&
      JSON.stringify(resource.Properties?.Environment ?? {}).includes('ROTATED_IAM_USER_PATH'),
  );
}

describe('Construct: IamKeyRotation', () => {
  let deployed: ReturnType<typeof synthesize>;
  beforeAll(() => {
    deployed = synthesize(context);
  }, 120_000);

  it('is not deployed without rotatedIamUserPath: no function, no output', () => {
    // Act
    const { json, template, stack } = synthesize({ 'aws:cdk:bundling-stacks': [] });

    // Assess
    expect(iamRotationFunctions(json)).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('IamKeyRotationFunctionArn');
    expect(stack.iamKeyRotation).toBeUndefined();
  });

  it('deploys the function on Node 24 with reserved concurrency, the path and the readers’ settings, and outputs its ARN', () => {
    // Prepare
    const { json, template, stack } = deployed;
    const fn = stack.iamKeyRotation!.function;

    // Act
    const functions = iamRotationFunctions(json);
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assess
    expect(functions).toHaveLength(1);
    const [, resource] = functions[0]!;
    expect(resource.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      ReservedConcurrentExecutions: 5,
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: expect.objectContaining({
          ROTATED_IAM_USER_PATH: USER_PATH,
          FENCE_SECRETS_PREFIX: 'gen3/fence/',
          FENCE_SECRET_CACHE_TTL_SECONDS: '300',
          FENCE_SECRET_CACHE_MAX_STALE_SECONDS: '3600',
          FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS: '3600',
          FENCE_ROTATION_MARGIN_SECONDS: '600',
          REGISTRY_TABLE_NAME: stack.resolve(stack.registry.tableName),
        }),
      },
    });
    expect(outputs.IamKeyRotationFunctionArn?.Value).toEqual(stack.resolve(fn.functionArn));
  });

  it('takes its reservation from rotationReservedConcurrency, none meaning no reservation', () => {
    // Act
    const { json } = synthesize({ ...context, rotationReservedConcurrency: 'none' });

    // Assess
    const [, resource] = iamRotationFunctions(json)[0]!;
    expect(resource.Properties?.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('lets only Secrets Manager, for this account, invoke the function', () => {
    // Prepare
    const { template, stack } = deployed;
    const functionRef = stack.resolve(stack.iamKeyRotation!.function.functionArn);

    // Act
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'))
      .map((permission) => permission.Properties)
      .filter((properties) => JSON.stringify(properties.FunctionName) === JSON.stringify(functionRef));

    // Assess
    expect(permissions).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: functionRef,
        Principal: 'secretsmanager.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
      },
    ]);
  });

  it('reaches only tagged secrets under the prefix that name it, and only keys of users under the path', () => {
    // Prepare
    const { json, stack } = deployed;
    const statements = executionRoleStatements(json, stack.iamKeyRotation!.function);
    const rotationFunction = concrete(stack, stack.iamKeyRotation!.function.functionArn);
    const secret = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/aws/dataset-AbCdEf';
    const marked = {
      [`secretsmanager:ResourceTag/${IAM_ROTATION_TAG.key}`]: IAM_ROTATION_TAG.value,
      'secretsmanager:resource/AllowRotationLambdaArn': rotationFunction,
    };
    const decide = (action: string, resource: string, requestContext: Record<string, string> = {}) =>
      evaluate(statements, { action, resource, context: requestContext });

    // Act + Assess
    expect(decide('secretsmanager:PutSecretValue', secret, marked)).toBe('Allow');
    expect(decide('secretsmanager:PutSecretValue', secret)).toBe('ImplicitDeny');
    expect(
      decide('secretsmanager:PutSecretValue', secret, {
        ...marked,
        [`secretsmanager:ResourceTag/${IAM_ROTATION_TAG.key}`]: 'minio',
      }),
    ).toBe('ImplicitDeny');
    expect(decide('iam:CreateAccessKey', 'arn:aws:iam::123456789012:user/gen3-buckets/reader')).toBe('Allow');
    expect(decide('iam:CreateAccessKey', 'arn:aws:iam::123456789012:user/operators/alice')).toBe(
      'ImplicitDeny',
    );
    expect(decide('iam:CreateUser', 'arn:aws:iam::123456789012:user/gen3-buckets/new')).toBe('ExplicitDeny');
    expect(decide('s3:GetObject', 'arn:aws:s3:::gen3-data/object')).toBe('ImplicitDeny');
  });

  it('tags users only with the keys the rotation core writes', () => {
    // Prepare
    const { json, stack } = deployed;
    const statements = executionRoleStatements(json, stack.iamKeyRotation!.function);
    const reader = 'arn:aws:iam::123456789012:user/gen3-buckets/reader';
    const tag = (keys: string[]) =>
      evaluate(statements, { action: 'iam:TagUser', resource: reader, context: { 'aws:TagKeys': keys } });

    // Act + Assess
    expect(wildcardMatch(ROTATION_USER_TAG_KEYS, `${DEMOTED_TAG_PREFIX}AKIAEXAMPLE0000001`)).toBe(true);
    expect(wildcardMatch(ROTATION_USER_TAG_KEYS, CREATING_TAG)).toBe(true);
    expect(tag([CREATING_TAG, `${DEMOTED_TAG_PREFIX}AKIAEXAMPLE0000001`])).toBe('Allow');
    expect(tag([CREATING_TAG, 'cost-center'])).toBe('ImplicitDeny');
  });

  it('alarms on failed steps and retirements and on throttles, with the IAM rotation alone', () => {
    // Prepare
    const { template } = deployed;

    // Act
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties as { AlarmName?: string; AlarmActions?: unknown[] },
    );
    const names = alarms.map((alarm) => String(alarm.AlarmName));

    // Assess
    expect(names).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/RotationStepFailed/),
        expect.stringMatching(/RotationRetirementFailed/),
        expect.stringMatching(/IamKeyRotationFunction.*Throttle/i),
      ]),
    );
    for (const alarm of alarms.filter((entry) => /Rotation/.test(String(entry.AlarmName)))) {
      expect(alarm.AlarmActions?.length).toBeGreaterThan(0);
    }
  });

  it('keeps the MinIO rotation’s alarms and adds a throttle alarm per rotation function when both are deployed', () => {
    // Act
    const { template } = synthesize({
      ...context,
      minioAdminSecretArns: ADMIN_SECRET,
    });
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) =>
      String(alarm.Properties.AlarmName),
    );

    // Assess: one alarm per metric (both functions publish the same ones), one throttle alarm each.
    expect(names.filter((name) => /RotationStepFailed/.test(name))).toHaveLength(1);
    expect(names.filter((name) => /RotationRetirementFailed/.test(name))).toHaveLength(1);
    expect(names.filter((name) => /(^|-)RotationFunction.*Throttle/i.test(name))).toHaveLength(1);
    expect(names.filter((name) => /IamKeyRotationFunction.*Throttle/i.test(name))).toHaveLength(1);
  });

  it('synthesizes with the AWS Solutions checks passing', () => {
    // Act
    const { app, stack } = buildApp({
      outdir: outdir(),
      context: { fenceRoleArns: FENCE_ROLE, ...context },
    });
    const assembly = app.synth();

    // Assess
    expect(assembly.getStackByName(stack.stackName).template.Outputs.IamKeyRotationFunctionArn).toBeDefined();
  });
});

describe('Context key: rotatedIamUserPath', () => {
  const build = (rotatedIamUserPath: unknown) => () =>
    buildApp({
      outdir: outdir(),
      context: { fenceRoleArns: FENCE_ROLE, rotatedIamUserPath, 'aws:cdk:bundling-stacks': [] },
    });

  it.each([
    ['/ alone', '/', /rotatedIamUserPath must not be \/ \(every IAM user of the account/],
    ['no leading /', 'gen3-buckets/', /rotatedIamUserPath must be an IAM path starting and ending with \//],
    ['no trailing /', '/gen3-buckets', /rotatedIamUserPath must be an IAM path/],
    ['a * wildcard', '/gen3-*/', /rotatedIamUserPath must be an IAM path.*no wildcard/],
    ['a ? wildcard', '/gen3?/', /rotatedIamUserPath must be an IAM path/],
    ['a policy variable', `/\${aws:username}/`, /rotatedIamUserPath must be an IAM path/],
    ['an empty segment', '/a//b/', /rotatedIamUserPath must be an IAM path/],
    ['513 characters', `/${'a'.repeat(511)}/`, /rotatedIamUserPath must be an IAM path.*at most 512/],
  ])('refuses %s at synth, naming the key', (_, path, message) => {
    expect(build(path)).toThrow(message);
  });

  it.each(['/gen3-buckets/', '/gen3/buckets/', '/Gen3_Data+X=1,2.a@b-c/'])('accepts %j', (path) => {
    // Act
    const { stack } = build(path)();

    // Assess
    expect(stack.iamKeyRotation).toBeDefined();
  });

  it('is in the table the generated reference is written from, with its default and refusals', () => {
    expect(CONTEXT_KEYS.rotatedIamUserPath.default).toMatch(/^none/);
    expect(CONTEXT_KEYS.rotatedIamUserPath.refuses).toMatch(/`\/` alone/);
    expect(CONTEXT_KEYS.rotatedIamUserPath.parse(undefined, 'rotatedIamUserPath')).toBeUndefined();
  });
});
