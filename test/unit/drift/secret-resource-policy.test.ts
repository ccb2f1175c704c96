import { readAdminSecret, secretNameOfArn } from '../../../functions/drift-check/drift-wiring';
import { DriftFinding } from '../../../functions/shared/drift/drift-finding';
import { accountOfArn, resourcePolicyFindings } from '../../../functions/shared/drift/secret-resource-policy';

const ACCOUNT = '123456789012';
const policy = (...statements: Record<string, unknown>[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });
const allow = (principal: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Principal: principal,
  Action: 'secretsmanager:GetSecretValue',
  Resource: '*',
  ...extra,
});

describe('Function: resourcePolicyFindings', () => {
  it.each([
    ['no policy', undefined],
    ['the own account root', policy(allow({ AWS: `arn:aws:iam::${ACCOUNT}:root` }))],
    [
      'a role of the own account, by account id too',
      policy(allow({ AWS: [`arn:aws:iam::${ACCOUNT}:role/x`, ACCOUNT] })),
    ],
    [
      'another account with a condition',
      policy(
        allow(
          { AWS: 'arn:aws:iam::210987654321:root' },
          { Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } } },
        ),
      ),
    ],
    ['a Deny of everyone', policy({ Effect: 'Deny', Principal: '*', Action: '*', Resource: '*' })],
    [
      'a service with a condition',
      policy(
        allow(
          { Service: 'lambda.amazonaws.com' },
          { Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } } },
        ),
      ),
    ],
  ])('finds nothing in %s', (_, text) => {
    expect(resourcePolicyFindings(text, ACCOUNT)).toEqual([]);
  });

  it.each([
    ['"*"', policy(allow('*')), ['statement #1 grants a wildcard principal']],
    [
      '{AWS: "*"} even with a condition',
      policy(allow({ AWS: '*' }, { Sid: 'Open', Condition: { Bool: { 'aws:SecureTransport': 'true' } } })),
      ['statement Open grants a wildcard principal'],
    ],
    [
      'another account without a condition',
      policy(allow({ AWS: '210987654321' })),
      ['statement #1 grants 210987654321 of account 210987654321 without a condition'],
    ],
    [
      'a principal not tied to an account (a deleted role)',
      policy(allow({ AWS: 'AROAEXAMPLEID' })),
      ['statement #1 grants AROAEXAMPLEID, which is not tied to an account, without a condition'],
    ],
    [
      'a service without a condition',
      policy(allow({ Service: 'lambda.amazonaws.com' })),
      [
        'statement #1 grants service lambda.amazonaws.com without a condition (aws:SourceAccount or aws:SourceArn)',
      ],
    ],
    [
      'NotPrincipal',
      JSON.stringify({
        Statement: { Effect: 'Allow', NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: '*' },
      }),
      ['statement #1 allows every principal but those it names (NotPrincipal)'],
    ],
    ['text that is not JSON', 'not json', ['the resource policy is not valid JSON']],
  ])('finds %s', (_, text, expected) => {
    expect(resourcePolicyFindings(text, ACCOUNT)).toEqual(expected);
  });

  it('reads the account of a secret ARN', () => {
    expect(accountOfArn(`arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:gen3/fence/x-AbCdEf`)).toBe(
      ACCOUNT,
    );
    expect(accountOfArn('gen3/fence/x')).toBeUndefined();
  });
});

describe('Function: readAdminSecret', () => {
  const arn = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:gen3/fence/admin/minio/myminio-AbCdEf`;

  it('reads a listed admin secret by its ARN, whether the secret names it by name or by ARN', async () => {
    // Prepare
    const reads: [string, string | null | undefined][] = [];
    const resolver = {
      get: async (ref: string, version?: string | null) => {
        reads.push([ref, version]);
        return {};
      },
    };

    // Act
    await readAdminSecret(resolver, 'gen3/fence/admin/minio/myminio', [arn]);
    await readAdminSecret(resolver, arn, [arn]);
    await readAdminSecret(resolver, 'anything/else', undefined);

    // Assess
    expect(reads).toEqual([
      [arn, 'AWSCURRENT'],
      [arn, 'AWSCURRENT'],
      ['anything/else', 'AWSCURRENT'],
    ]);
    expect(secretNameOfArn(arn)).toBe('gen3/fence/admin/minio/myminio');
  });

  it('refuses, as a finding, an admin secret the deployment does not list', async () => {
    const resolver = { get: jest.fn() };
    const read = readAdminSecret(resolver, 'gen3/fence/admin/minio/other', [arn]);
    await expect(read).rejects.toBeInstanceOf(DriftFinding);
    await expect(read).rejects.toThrow(/not one of the deployment's minioAdminSecretArns/);
    expect(resolver.get).not.toHaveBeenCalled();
  });
});
