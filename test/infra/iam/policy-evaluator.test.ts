import { evaluate, type PolicyStatement, resolveIntrinsics, wildcardMatch } from './policy-evaluator';

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/minio/x-AbCdEf';

describe('Function: evaluate (the infra tests’ IAM evaluator)', () => {
  it('matches actions case-insensitively with wildcards, resources case-sensitively', () => {
    expect(wildcardMatch('secretsmanager:Put*', 'secretsmanager:PutResourcePolicy', true)).toBe(true);
    expect(wildcardMatch('secretsmanager:put*', 'secretsmanager:PutSecretValue', true)).toBe(true);
    expect(wildcardMatch('secretsmanager:Put*', 'secretsmanager:GetSecretValue', true)).toBe(false);
    expect(wildcardMatch('arn:aws:s3:::bucket/?', 'arn:aws:s3:::bucket/a')).toBe(true);
    expect(wildcardMatch('arn:aws:s3:::bucket/?', 'arn:aws:s3:::bucket/ab')).toBe(false);
    expect(wildcardMatch('arn:aws:s3:::Bucket/*', 'arn:aws:s3:::bucket/a')).toBe(false);
    expect(wildcardMatch('a.b', 'axb')).toBe(false);
  });

  it('lets an explicit Deny win over an Allow, and denies implicitly what nothing allows', () => {
    // Prepare
    const statements: PolicyStatement[] = [
      { Effect: 'Allow', Action: 'secretsmanager:*', Resource: '*' },
      { Effect: 'Deny', Action: ['secretsmanager:Put*'], Resource: '*' },
    ];

    // Act + Assess
    expect(evaluate(statements, { action: 'secretsmanager:GetSecretValue', resource: SECRET })).toBe('Allow');
    expect(evaluate(statements, { action: 'secretsmanager:PutSecretValue', resource: SECRET })).toBe(
      'ExplicitDeny',
    );
    expect(evaluate(statements, { action: 'dynamodb:GetItem', resource: SECRET })).toBe('ImplicitDeny');
  });

  it('holds ForAllValues: when every value of a multi-valued key matches, and for an absent key', () => {
    // Prepare
    const statements: PolicyStatement[] = [
      {
        Effect: 'Allow',
        Action: 'iam:TagUser',
        Resource: '*',
        Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': 'fence-bucket-broker:*' } },
      },
    ];
    const tag = (keys?: string | string[]) =>
      evaluate(statements, {
        action: 'iam:TagUser',
        resource: 'arn:aws:iam::1:user/gen3-buckets/u',
        ...(keys === undefined ? {} : { context: { 'aws:TagKeys': keys } }),
      });

    // Act + Assess
    expect(tag(['fence-bucket-broker:creating', 'fence-bucket-broker:demoted:AKIA1'])).toBe('Allow');
    expect(tag('fence-bucket-broker:creating')).toBe('Allow');
    expect(tag(['fence-bucket-broker:creating', 'team'])).toBe('ImplicitDeny');
    expect(tag(['team'])).toBe('ImplicitDeny');
    expect(tag()).toBe('Allow');
    expect(() =>
      evaluate([{ ...statements[0]!, Condition: { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'x' } } }], {
        action: 'iam:TagUser',
        resource: '*',
      }),
    ).toThrow(/not supported/);
  });

  it('holds a negated condition when its key is missing, and a positive one only when present and equal', () => {
    // Prepare
    const statements: PolicyStatement[] = [
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
      },
      {
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:PrincipalTag/team': ['fence', 'ops'] } },
      },
    ];
    const decrypt = (context: Record<string, string>) =>
      evaluate(statements, { action: 'kms:Decrypt', resource: 'arn:aws:kms:us-east-1:1:key/k', context });

    // Act + Assess
    expect(
      decrypt({ 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com', 'aws:PrincipalTag/team': 'ops' }),
    ).toBe('Allow');
    expect(decrypt({ 'kms:ViaService': 's3.us-east-1.amazonaws.com', 'aws:PrincipalTag/team': 'ops' })).toBe(
      'ImplicitDeny',
    );
    expect(decrypt({ 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' })).toBe('ExplicitDeny');
    expect(
      decrypt({ 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com', 'aws:PrincipalTag/team': 'x' }),
    ).toBe('ExplicitDeny');
  });

  it('matches resource-policy principals by ARN, account root and *', () => {
    // Prepare
    const fence = 'arn:aws:iam::123456789012:role/fence';
    const other = 'arn:aws:iam::123456789012:role/other';
    const byRole: PolicyStatement = {
      Effect: 'Allow',
      Action: 'execute-api:Invoke',
      Resource: '*',
      Principal: { AWS: fence },
    };
    const byAccount: PolicyStatement = { ...byRole, Principal: { AWS: 'arn:aws:iam::123456789012:root' } };

    // Act + Assess
    expect(evaluate([byRole], { action: 'execute-api:Invoke', resource: 'x', principalArn: fence })).toBe(
      'Allow',
    );
    expect(evaluate([byRole], { action: 'execute-api:Invoke', resource: 'x', principalArn: other })).toBe(
      'ImplicitDeny',
    );
    expect(evaluate([byAccount], { action: 'execute-api:Invoke', resource: 'x', principalArn: other })).toBe(
      'Allow',
    );
    expect(
      evaluate([{ ...byRole, Principal: '*' }], {
        action: 'execute-api:Invoke',
        resource: 'x',
        principalArn: other,
      }),
    ).toBe('Allow');
  });

  it('refuses what it does not understand rather than guessing', () => {
    const statement: PolicyStatement = {
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
      Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
    };
    expect(() => evaluate([statement], { action: 's3:GetObject', resource: 'x' })).toThrow(/DateGreaterThan/);
    expect(() => resolveIntrinsics({ 'Fn::Select': [0, ['a']] })).toThrow(/Fn::Select/);
  });

  it('resolves pseudo parameters, joins and ARNs of resources to plain strings', () => {
    expect(
      resolveIntrinsics({
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':x'],
        ],
      }),
    ).toBe('arn:aws:secretsmanager:us-east-1:x');
    expect(resolveIntrinsics({ 'Fn::GetAtt': ['Table', 'Arn'] })).toBe(
      'arn:aws:synthetic:us-east-1:123456789012:Table',
    );
  });
});
