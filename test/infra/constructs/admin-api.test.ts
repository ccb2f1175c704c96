import { Stack } from 'aws-cdk-lib';
import { ADMIN_ROUTES } from '../../../functions/admin/admin-api';
import { evaluate, type PolicyStatement, resolveIntrinsics } from '../iam/policy-evaluator';
import { FENCE_ROLE, REGISTRY_SYNC_CONTEXT, synthesize } from '../synthesized-stack';

const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/gen3-admin';
const SAME_ACCOUNT_OTHER = 'arn:aws:iam::123456789012:role/has-execute-api-invoke-on-star';

describe('Construct: AdminApi', () => {
  const { stack, template } = synthesize({ adminRoleArns: ADMIN_ROLE });
  const [api] = Object.values(template.findResources('AWS::ApiGateway::RestApi'));
  const policy = resolveIntrinsics(api?.Properties.Policy) as { Statement: PolicyStatement[] };
  const invoke = (principalArn: string | undefined, resource: string) =>
    evaluate(policy.Statement, { action: 'execute-api:Invoke', resource, principalArn });

  it('admits only the admin roles to /v1/admin/*, with an explicit Deny for every other principal, Fence included', () => {
    // Assess
    expect(policy.Statement).toContainEqual({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*/*/v1/admin/*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ADMIN_ROLE] } },
    });
    const register = 'execute-api:/prod/POST/v1/admin/buckets';
    expect(invoke(ADMIN_ROLE, register)).toBe('Allow');
    expect(invoke(FENCE_ROLE, register)).toBe('ExplicitDeny');
    expect(invoke(SAME_ACCOUNT_OTHER, 'execute-api:/prod/PATCH/v1/admin/buckets/b')).toBe('ExplicitDeny');
    expect(invoke(undefined, register)).toBe('ExplicitDeny');
    // And the other way round: the admin role is no Fence.
    expect(invoke(ADMIN_ROLE, 'execute-api:/prod/POST/v1/buckets/b/presign')).toBe('ExplicitDeny');
    expect(invoke(FENCE_ROLE, 'execute-api:/prod/POST/v1/buckets/b/presign')).toBe('Allow');
  });

  it('exposes exactly the admin routes, each with IAM authorization', () => {
    // Act
    const adminFunction = stack.resolve(stack.adminApi?.function.functionArn);
    const adminMethods = Object.values(template.findResources('AWS::ApiGateway::Method')).filter((method) =>
      JSON.stringify(method.Properties.Integration ?? {}).includes(
        JSON.stringify(adminFunction['Fn::GetAtt'][0]),
      ),
    );

    // Assess
    expect(adminMethods.map((method) => method.Properties.HttpMethod).sort()).toEqual(
      ADMIN_ROUTES.map((route) => route.method).sort(),
    );
    for (const method of adminMethods) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('gives the admin function to API Gateway of this API’s stage only, and tells it who the admins are', () => {
    // Prepare
    const admin = stack.adminApi;
    const apiId = Stack.of(stack).getLogicalId(stack.presignApi.api.node.defaultChild as never);
    const stageId = Stack.of(stack).getLogicalId(
      stack.presignApi.api.deploymentStage.node.defaultChild as never,
    );
    const functionArn = stack.resolve(admin?.function.functionArn);

    // Act
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'))
      .map((permission) => permission.Properties)
      .filter((properties) => JSON.stringify(properties.FunctionName) === JSON.stringify(functionArn));

    // Assess
    expect(permissions).toHaveLength(ADMIN_ROUTES.length);
    for (const permission of permissions) {
      const sourceArn = String(resolveIntrinsics(permission.SourceArn));
      expect(permission.Principal).toBe('apigateway.amazonaws.com');
      expect(sourceArn).not.toContain('test-invoke-stage');
      expect(
        sourceArn.startsWith(`arn:aws:execute-api:us-east-1:123456789012:ref-${apiId}/ref-${stageId}/`),
      ).toBe(true);
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { ADMIN_PRINCIPAL_ARNS: ADMIN_ROLE, FENCE_SECRETS_PREFIX: 'gen3/fence/' } },
    });
  });

  it('is not deployed without adminRoleArns', () => {
    // Act
    const { stack: bare, template: bareTemplate } = synthesize();
    const [bareApi] = Object.values(bareTemplate.findResources('AWS::ApiGateway::RestApi'));

    // Assess
    expect(bare.adminApi).toBeUndefined();
    expect(JSON.stringify(bareApi?.Properties.Policy)).not.toContain('/v1/admin/');
    expect(JSON.stringify(bareTemplate.toJSON())).not.toContain('ADMIN_PRINCIPAL_ARNS');
  });

  it('with Fence DB as the registry of record, writes there first: runs in its VPC and reads its connection secret', () => {
    // Act
    const { stack: withDb, template: dbTemplate } = synthesize({
      adminRoleArns: ADMIN_ROLE,
      ...REGISTRY_SYNC_CONTEXT,
    });

    // Assess
    const adminFunction = withDb.adminApi?.function;
    if (adminFunction === undefined) throw new Error('no admin API was deployed');
    const fn = withDb.getLogicalId(adminFunction.node.defaultChild as never);
    const [admin] = Object.entries(dbTemplate.findResources('AWS::Lambda::Function')).filter(
      ([id]) => id === fn,
    );
    expect(admin?.[1].Properties.Environment.Variables).toMatchObject({
      REGISTRY_SOURCE: 'postgres',
      FENCE_DB_SECRET_ARN: REGISTRY_SYNC_CONTEXT.fenceDbSecretArn,
    });
    expect(admin?.[1].Properties.VpcConfig.SubnetIds).toEqual(REGISTRY_SYNC_CONTEXT.vpcSubnetIds.split(','));
    // The sync and the admin API share the one imported network.
    expect(withDb.registrySync).toBeDefined();
  });
});
