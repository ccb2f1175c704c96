import { isAllowedCaller, principalIdentity } from '../../../functions/shared/http/caller';

describe('Function: isAllowedCaller', () => {
  const ADMIN = 'arn:aws:iam::123456789012:role/ops/gen3-admin';

  it.each([
    ['a session of the role', 'arn:aws:sts::123456789012:assumed-role/gen3-admin/alice', true],
    ['the role itself', 'arn:aws:iam::123456789012:role/gen3-admin', true],
    [
      'the same role name in another account',
      'arn:aws:sts::210987654321:assumed-role/gen3-admin/alice',
      false,
    ],
    ['another role', 'arn:aws:sts::123456789012:assumed-role/fence-irsa/botocore', false],
    ['a user of the same name', 'arn:aws:iam::123456789012:user/gen3-admin', false],
    ['another partition', 'arn:aws-cn:sts::123456789012:assumed-role/gen3-admin/alice', false],
    ['the account root', 'arn:aws:iam::123456789012:root', false],
    ['no caller', undefined, false],
    ['garbage', 'not-an-arn', false],
  ])('%s → %s', (_, caller, allowed) => {
    expect(isAllowedCaller(caller, [ADMIN])).toBe(allowed);
  });

  it('reduces roles and their sessions to one identity, and users to another', () => {
    expect(principalIdentity('arn:aws:iam::123456789012:role/a/b/name')).toBe('aws:123456789012:role:name');
    expect(principalIdentity('arn:aws:sts::123456789012:assumed-role/name/session')).toBe(
      'aws:123456789012:role:name',
    );
    expect(principalIdentity('arn:aws:iam::123456789012:user/path/bob')).toBe('aws:123456789012:user:bob');
    expect(principalIdentity('arn:aws:sts::123456789012:federated-user/bob')).toBeUndefined();
  });
});
