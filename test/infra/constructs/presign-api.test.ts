import { Stack } from 'aws-cdk-lib';
import { evaluate, type PolicyStatement, resolveIntrinsics } from '../iam/policy-evaluator';
import { secretsManagerActions } from '../iam/secretsmanager-actions';
import { executionRoleStatements, FENCE_ROLE, synthesize } from '../synthesized-stack';

const SECRET_ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;

describe('Construct: PresignApi', () => {
  describe('who may call it', () => {
    const SECOND_FENCE_ROLE = 'arn:aws:iam::210987654321:role/fence-irsa-dr';
    const SAME_ACCOUNT_OTHER = 'arn:aws:iam::123456789012:role/has-execute-api-invoke-on-star';
    const PRESIGN = 'execute-api:/prod/POST/v1/buckets/demo-bucket/presign';

    function resourcePolicy() {
      const { template } = synthesize({ fenceRoleArns: [FENCE_ROLE, SECOND_FENCE_ROLE] });
      const [api] = Object.values(template.findResources('AWS::ApiGateway::RestApi'));
      return resolveIntrinsics(api?.Properties.Policy) as { Statement: PolicyStatement[] };
    }

    it('denies execute-api:Invoke on the presign routes to every principal that is not a Fence role', () => {
      // Prepare
      const policy = resourcePolicy();

      // Act + Assess
      expect(policy.Statement).toContainEqual({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*/*/v1/buckets/*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [FENCE_ROLE, SECOND_FENCE_ROLE] } },
      });
      // Same-account evaluation allows when either policy allows; the explicit Deny wins over the
      // caller's own IAM policy, which this resource policy cannot see.
      const invoke = (principalArn?: string, resource = PRESIGN) =>
        evaluate(policy.Statement, { action: 'execute-api:Invoke', resource, principalArn });
      expect(invoke(FENCE_ROLE)).toBe('Allow');
      expect(invoke(SECOND_FENCE_ROLE)).toBe('Allow');
      expect(invoke(SAME_ACCOUNT_OTHER)).toBe('ExplicitDeny');
      expect(invoke(undefined)).toBe('ExplicitDeny');
      expect(invoke(SAME_ACCOUNT_OTHER, 'execute-api:/prod/POST/v1/buckets/b/multipart/complete')).toBe(
        'ExplicitDeny',
      );
    });

    it('has no test-invoke permission, and admits API Gateway of this API’s deployed stage only', () => {
      // Prepare
      const { stack, template } = synthesize();
      const presign = stack.presignApi;
      const apiId = Stack.of(presign).getLogicalId(presign.api.node.defaultChild as never);
      const stageId = Stack.of(presign).getLogicalId(presign.api.deploymentStage.node.defaultChild as never);
      const functionArn = stack.resolve(presign.function.functionArn);

      // Act
      const permissions = Object.values(template.findResources('AWS::Lambda::Permission'))
        .map((permission) => permission.Properties)
        .filter((properties) => JSON.stringify(properties.FunctionName) === JSON.stringify(functionArn));

      // Assess
      expect(permissions.length).toBeGreaterThanOrEqual(1);
      for (const permission of permissions) {
        const sourceArn = String(resolveIntrinsics(permission.SourceArn));
        expect(permission.Principal).toBe('apigateway.amazonaws.com');
        expect(sourceArn).not.toContain('test-invoke-stage');
        expect(
          sourceArn.startsWith(`arn:aws:execute-api:us-east-1:123456789012:ref-${apiId}/ref-${stageId}/`),
        ).toBe(true);
      }
    });
  });

  it('is a regional API that accepts TLS 1.3 only, in strict endpoint access mode', () => {
    // Act
    const { template } = synthesize();

    // Assess
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09',
      EndpointAccessMode: 'STRICT',
    });
  });

  describe('runtime role', () => {
    it('is denied every Write, Tagging and Permissions-management action of Secrets Manager, and may still read', () => {
      // Prepare
      const { stack, json } = synthesize();
      const statements = executionRoleStatements(json, stack.presignApi.function);
      const bucketSecret = SECRET_ARN('gen3/fence/minio/dataset');
      const writes = secretsManagerActions('Write', 'Tagging', 'Permissions management');

      // Act
      const decisions = Object.fromEntries(
        writes.map((action) => [action, evaluate(statements, { action, resource: bucketSecret })]),
      );

      // Assess
      expect(writes).toHaveLength(19);
      expect(decisions).toEqual(Object.fromEntries(writes.map((action) => [action, 'ExplicitDeny'])));
      expect(
        evaluate(statements, {
          action: 'secretsmanager:PutResourcePolicy',
          resource: SECRET_ARN('elsewhere/x'),
        }),
      ).toBe('ExplicitDeny');
      expect(evaluate(statements, { action: 'secretsmanager:GetSecretValue', resource: bucketSecret })).toBe(
        'Allow',
      );
    });

    it('may not read admin secrets under <prefix>admin/, while every other secret under the prefix stays readable', () => {
      // Prepare
      const { stack, json } = synthesize();
      const statements = executionRoleStatements(json, stack.presignApi.function);
      const admin = SECRET_ARN('gen3/fence/admin/minio/myminio');
      const reads = secretsManagerActions('Read', 'List');

      // Act
      const decisions = reads.map((action) => [action, evaluate(statements, { action, resource: admin })]);

      // Assess
      expect(decisions).toEqual(reads.map((action) => [action, 'ExplicitDeny']));
      expect(
        evaluate(statements, {
          action: 'secretsmanager:GetSecretValue',
          resource: SECRET_ARN('gen3/fence/administrators-bucket'),
        }),
      ).toBe('Allow');
    });
  });
});
