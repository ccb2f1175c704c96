import { concrete, FENCE_ROLE, synthesize } from '../synthesized-stack';
import {
  type AccessRequest,
  type Decision,
  evaluate,
  type PolicyStatement,
  resolveIntrinsics,
} from './policy-evaluator';

const ACCOUNT = '123456789012';
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/gen3-admin`;
const OTHER_ROLE = `arn:aws:iam::${ACCOUNT}:role/analytics`;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-us-east-1`;

/** The report bucket's policy as the evaluator sees it, and the ARNs it is about. */
function reportBucket(context: Record<string, unknown>) {
  const { stack, json } = synthesize(context);
  const bucket = concrete(stack, stack.driftCheck.reports.bucket.bucketArn);
  const policies = Object.values(json.Resources).filter(
    (resource) =>
      resource.Type === 'AWS::S3::BucketPolicy' &&
      concrete(stack, stack.driftCheck.reports.bucket.bucketName) ===
        String(resolveIntrinsics(resource.Properties?.Bucket)),
  );
  expect(policies).toHaveLength(1);
  const statements = (
    resolveIntrinsics(policies[0]?.Properties?.PolicyDocument) as { Statement: PolicyStatement[] }
  ).Statement;
  return {
    statements,
    bucket,
    report: `${bucket}/reports/latest.json`,
    driftRole: concrete(stack, stack.driftCheck.function.role?.roleArn ?? ''),
    presignRole: concrete(stack, stack.presignApi.function.role?.roleArn ?? ''),
  };
}

/** The bucket policy's decision alone (over TLS 1.3; role policies are judged in iam-matrix.test.ts). */
function decide(statements: PolicyStatement[], request: AccessRequest): Decision {
  return evaluate(statements, {
    ...request,
    context: { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3', ...request.context },
  });
}

describe('Drift report bucket policy (evaluated)', () => {
  const withAdmins = reportBucket({ adminRoleArns: ADMIN });
  const { statements, bucket, report, driftRole, presignRole } = withAdmins;

  it.each([
    ['the admin role reads a report', { action: 's3:GetObject', resource: report, principalArn: ADMIN }],
    [
      'the admin role reads an older version',
      { action: 's3:GetObjectVersion', resource: report, principalArn: ADMIN },
    ],
    ['the admin role lists the reports', { action: 's3:ListBucket', resource: bucket, principalArn: ADMIN }],
  ])('allows: %s', (_, request) => {
    expect(decide(statements, request)).toBe('Allow');
  });

  it.each([
    [
      'another role of the account reads a report',
      { action: 's3:GetObject', resource: report, principalArn: OTHER_ROLE },
    ],
    ['Fence’s role reads a report', { action: 's3:GetObject', resource: report, principalArn: FENCE_ROLE }],
    [
      'the presign role reads a report',
      { action: 's3:GetObject', resource: report, principalArn: presignRole },
    ],
    [
      'another role reads an older version',
      { action: 's3:GetObjectVersion', resource: report, principalArn: OTHER_ROLE },
    ],
    [
      'another role lists the versions',
      { action: 's3:ListBucketVersions', resource: bucket, principalArn: OTHER_ROLE },
    ],
    ['an anonymous request reads a report', { action: 's3:GetObject', resource: report }],
    ['the admin role overwrites a report', { action: 's3:PutObject', resource: report, principalArn: ADMIN }],
    [
      'the admin role deletes a report version',
      { action: 's3:DeleteObjectVersion', resource: report, principalArn: ADMIN },
    ],
    [
      'another role deletes a report',
      { action: 's3:DeleteObject', resource: report, principalArn: OTHER_ROLE },
    ],
    [
      'the root user reads a report (break-glass is deleting the policy)',
      { action: 's3:GetObject', resource: report, principalArn: ROOT },
    ],
  ])('denies explicitly: %s', (_, request) => {
    expect(decide(statements, request)).toBe('ExplicitDeny');
  });

  it.each([
    ['the drift role writes a report', { action: 's3:PutObject', resource: report, principalArn: driftRole }],
    ['the drift role reads a report', { action: 's3:GetObject', resource: report, principalArn: driftRole }],
    [
      'the deploy role replaces the bucket policy',
      { action: 's3:PutBucketPolicy', resource: bucket, principalArn: DEPLOY_ROLE },
    ],
    [
      'the root user deletes the bucket policy',
      { action: 's3:DeleteBucketPolicy', resource: bucket, principalArn: ROOT },
    ],
    [
      'another role reads the bucket’s configuration',
      { action: 's3:GetBucketPolicy', resource: bucket, principalArn: OTHER_ROLE },
    ],
  ])('leaves to IAM (no Deny, so no lockout): %s', (_, request) => {
    expect(decide(statements, request)).not.toBe('ExplicitDeny');
  });

  it('without adminRoleArns, admits no reader but the drift role', () => {
    // Act
    const alone = reportBucket({});

    // Assess
    expect(alone.statements.filter((statement) => statement.Effect === 'Allow')).toEqual([]);
    expect(
      decide(alone.statements, { action: 's3:GetObject', resource: alone.report, principalArn: ADMIN }),
    ).toBe('ExplicitDeny');
    expect(
      decide(alone.statements, {
        action: 's3:GetObject',
        resource: alone.report,
        principalArn: alone.driftRole,
      }),
    ).not.toBe('ExplicitDeny');
  });
});
