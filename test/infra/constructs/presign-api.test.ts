import { evaluate } from '../iam/policy-evaluator';
import { secretsManagerActions } from '../iam/secretsmanager-actions';
import { executionRoleStatements, synthesize } from '../synthesized-stack';

const SECRET_ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;

describe('Construct: PresignApi', () => {
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
