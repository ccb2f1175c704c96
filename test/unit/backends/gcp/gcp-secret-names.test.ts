import {
  gcpAnnotations,
  gcpLabels,
  nameOfSecretId,
  secretIdForName,
} from '../../../../functions/shared/backends/gcp/gcp-secret-names';
import { InvalidSecretError } from '../../../../functions/shared/errors';
import { GCP_SECRET_REF } from '../../../../functions/shared/secrets/secret-ref-formats';

describe('Function: secretIdForName / nameOfSecretId', () => {
  it.each([
    ['gen3/fence/gcp/bucket', 'gen3--fence--gcp--bucket'],
    ['gen3/fence/gcp/data.example.org', 'gen3--fence--gcp--data__example__org'],
    ['gen3/fence/aws/my-bucket_1', 'gen3--fence--aws--my-bucket_1'],
    ['Gen3/Fence/minio/b', 'Gen3--Fence--minio--b'],
  ])('maps %s to the secret id %s and back', (name, id) => {
    // Act
    const mapped = secretIdForName(name);

    // Assess
    expect(mapped).toBe(id);
    expect(nameOfSecretId(mapped)).toBe(name);
    expect(GCP_SECRET_REF.test(`projects/p/secrets/${mapped}`)).toBe(true);
  });

  it.each([
    ['a name with -- in it', 'gen3/fence/aws/a--b'],
    ['a name with __ in it', 'gen3/fence/gcp/a__b'],
    ['- beside /', 'gen3-/fence/gcp/b'],
    ['_ beside .', 'gen3/fence/gcp/a_.b'],
    ['a character no secret id can carry', 'gen3/fence/gcp/b c'],
    ['a name longer than 255 characters once mapped', `gen3/fence/gcp/${'b'.repeat(250)}`],
  ])('refuses %s, which would read back as another name', (_why, name) => {
    // Act & Assess
    expect(() => secretIdForName(name)).toThrow(InvalidSecretError);
  });

  it('reads names from ids in a way that keeps the prefix rules: an id under the prefix id is a name under the prefix', () => {
    // Prepare
    const prefixId = secretIdForName('gen3/fence/'.replace(/\/$/, '')).concat('--');

    // Act
    const names = [
      `${prefixId}gcp--b`,
      `${prefixId}-x`,
      'gen3---fence--gcp--b',
      'gen3-fence-gcp-b',
      'gen3--fence--admin--minio',
    ].map((id) => [id.startsWith(prefixId), nameOfSecretId(id).startsWith('gen3/fence/')]);

    // Assess
    for (const [idUnderPrefix, nameUnderPrefix] of names) expect(nameUnderPrefix).toBe(idUnderPrefix);
    expect(nameOfSecretId('gen3--fence--admin--minio')).toBe('gen3/fence/admin/minio');
  });
});

describe('Function: gcpLabels', () => {
  it('lowercases keys and values, replaces what labels cannot hold by _, and cuts them to 63 characters', () => {
    // Act
    const labels = gcpLabels({
      'fence-bucket-broker:bucket': 'Data.Example.ORG',
      'fence-bucket-broker:created-by': `arn:aws:iam::123456789012:role/${'x'.repeat(80)}`,
      '1st': 'ok',
      Team: 'Gen3 Ops',
    });

    // Assess
    expect(labels).toEqual({
      'fence-bucket-broker_bucket': 'data_example_org',
      'fence-bucket-broker_created-by': `arn_aws_iam__123456789012_role_${'x'.repeat(80)}`.slice(0, 63),
      k_1st: 'ok',
      team: 'gen3_ops',
    });
    for (const [key, value] of Object.entries(labels)) {
      expect(key).toMatch(/^[a-z][a-z0-9_-]{0,62}$/);
      expect(value).toMatch(/^[a-z0-9_-]{0,63}$/);
    }
  });

  it('keeps the exact values in annotations, under keys annotations allow', () => {
    // Act
    const annotations = gcpAnnotations({
      'fence-bucket-broker:created-by': 'arn:aws:iam::123456789012:role/gen3-admin',
      ':odd:': 'value',
      ':::': 'dropped',
    });

    // Assess
    expect(annotations).toEqual({
      'fence-bucket-broker_created-by': 'arn:aws:iam::123456789012:role/gen3-admin',
      odd: 'value',
    });
  });
});
