import { type PolicedRecord, recordPolicyViolations } from '../../../functions/shared/registry/record-policy';
import type { SecretsBackend } from '../../../functions/shared/secrets/backend-names';

const policy = { secretsPrefix: 'gen3/fence/', maxExpiresInCap: 3600 };

function staticRecord(
  backend: SecretsBackend,
  ref: string,
  extra: Partial<PolicedRecord> = {},
): PolicedRecord {
  return {
    auth_mode: 'static',
    secrets_backend: backend,
    secret_ref: ref,
    secret_version: null,
    max_expires_in: 3600,
    ...extra,
  };
}

const rules = (record: PolicedRecord) => recordPolicyViolations(record, policy).map((entry) => entry.rule);

describe('Function: recordPolicyViolations', () => {
  it.each([
    ['aws_sm', 'gen3/fence/minio/b', []],
    ['aws_sm', 'arn:aws:secretsmanager:us-east-1:111122223333:secret:gen3/fence/minio/b-AbCdEf', []],
    [
      'aws_sm',
      'arn:aws:secretsmanager:us-east-1:111122223333:secret:gen3/fence/admin/minio-AbCdEf',
      ['secret_under_admin_path'],
    ],
    [
      'aws_sm',
      'arn:aws:secretsmanager:us-east-1:111122223333:secret:gen3/fenceadmin-AbCdEf',
      ['secret_outside_prefix'],
    ],
    ['aws_sm', 'gen3/fence/x/../admin/minio', ['secret_under_admin_path']],
    ['vault', 'secret/gen3/fence/minio/b', []],
    ['vault', 'kv/gen3/fence/admin/minio', ['secret_under_admin_path']],
    ['vault', 'gen3/fence/minio/b', ['secret_outside_prefix']], // the mount is `gen3`: the path is fence/minio/b
    ['gcp_sm', 'projects/p1/secrets/gen3--fence--gcp--my__bucket', []],
    ['gcp_sm', 'projects/p1/secrets/gen3--fence--admin--minio', ['secret_under_admin_path']],
    ['gcp_sm', 'projects/p1/secrets/payments--keys', ['secret_outside_prefix']],
    ['k8s', 'gen3/fence/minio/b', []],
    ['k8s', 'gen3/fence/./minio/b', ['secret_ref_not_normal']],
    ['k8s', 'etc/gen3/fence/minio/b', ['secret_outside_prefix']],
  ] as const)('%s %s → %j', (backend, ref, expected) => {
    expect(rules(staticRecord(backend, ref))).toEqual(expected);
  });

  it('refuses an AWSPENDING pin (a key rotation has not proven) and a max_expires_in above the cap, naming the fields', () => {
    expect(
      recordPolicyViolations(
        staticRecord('aws_sm', 'gen3/fence/minio/b', { secret_version: 'AWSPENDING', max_expires_in: 3601 }),
        policy,
      ).map(({ rule, field }) => [rule, field]),
    ).toEqual([
      ['secret_pin_pending', 'secret_version'],
      ['max_expires_in_above_cap', 'max_expires_in'],
    ]);
    expect(rules(staticRecord('aws_sm', 'gen3/fence/minio/b', { secret_version: 'BLUE' }))).toEqual([]);
  });

  it('holds role and workload-identity records to the cap only', () => {
    const role: PolicedRecord = {
      auth_mode: 'role',
      secrets_backend: null,
      secret_ref: null,
      secret_version: null,
      max_expires_in: 3600,
    };
    expect(rules(role)).toEqual([]);
    expect(rules({ ...role, max_expires_in: 7200 })).toEqual(['max_expires_in_above_cap']);
  });
});
