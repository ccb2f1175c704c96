import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { InvalidRequestError } from '../../../functions/shared/errors';
import { readFenceConfig } from '../../../functions/shared/migration/fence-config';
import {
  type CredentialMove,
  redactedDiff,
  rewriteCredentials,
} from '../../../functions/shared/migration/fence-config-rewrite';

const FIXTURE = readFileSync(join(__dirname, '../../fixtures/fence-config.yaml'), 'utf8');
const MOVED_AT = new Date('2026-03-01T12:00:00Z');

/** Every key value of AWS_CREDENTIALS in `source`. */
function keysOf(source: string): string[] {
  const credentials = (parse(source) as { AWS_CREDENTIALS: Record<string, Record<string, string>> })
    .AWS_CREDENTIALS;
  return Object.values(credentials).flatMap((entry) => [
    String(entry.aws_access_key_id),
    String(entry.aws_secret_access_key),
  ]);
}

/** The fixture's access key id of `credential`, read from the fixture (it is the one place that holds it). */
function fixtureKeyId(credential: string): string {
  const credentials = (parse(FIXTURE) as { AWS_CREDENTIALS: Record<string, Record<string, string>> })
    .AWS_CREDENTIALS;
  return String(credentials[credential]?.aws_access_key_id);
}

function movesFor(
  source: string,
  names?: string[],
): { config: ReturnType<typeof readFenceConfig>; moves: CredentialMove[] } {
  const config = readFenceConfig(source);
  const moves = [...config.credentials.values()]
    .filter((credential) => names === undefined || names.includes(credential.name))
    .map((credential) => ({
      credential,
      secretName: `gen3/fence/fence-config/${credential.name}`,
      secretRef: `arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/fence-config/${credential.name}-AbCdEf`,
    }));
  return { config, moves };
}

describe('Function: readFenceConfig', () => {
  it("reads AWS_CREDENTIALS and S3_BUCKETS with Fence's settings: cred, region, endpoint_url, role-arn, uploads, other uses", () => {
    // Act
    const config = readFenceConfig(FIXTURE);

    // Assess
    expect([...config.credentials.keys()]).toEqual(['CRED-DATA', 'CRED-ROLE', 'CRED-MINIO', 'CRED-PARTNER']);
    expect(config.credentials.get('CRED-DATA')).toMatchObject({
      keys: { access_key_id: fixtureKeyId('CRED-DATA') },
      otherUses: ['PUSH_AUDIT_LOGS_CONFIG.aws_sqs_config.aws_cred'],
      problem: undefined,
    });
    expect(config.credentials.get('CRED-PARTNER')?.keys?.access_key_id).toBe(fixtureKeyId('CRED-PARTNER'));
    expect(config.buckets).toEqual([
      expect.objectContaining({ name: 'gen3-fixture-data-main', cred: 'CRED-DATA', upload: true }),
      expect.objectContaining({ name: 'gen3-fixture-data-archive', cred: 'CRED-DATA', upload: false }),
      expect.objectContaining({
        name: 'gen3-fixture-controlled',
        roleArn: 'arn:aws:iam::123456789012:role/gen3-fixture-controlled-reader',
      }),
      expect.objectContaining({ name: 'gen3-fixture-onprem', endpointUrl: 'http://127.0.0.1:9000/' }),
      expect.objectContaining({ name: 'gen3-fixture-partner', region: 'us-west-2' }),
      expect.objectContaining({ name: 'gen3-fixture-public', cred: '*', problem: undefined }),
    ]);
    expect(config.maxPresignedUrlTtl).toBe(3600);
    expect(config.notes).toEqual([]);
  });

  it('reports invalid YAML by line and code only, never quoting the source (which may hold a key)', () => {
    // Prepare
    const broken = "AWS_CREDENTIALS:\n  CRED1:\n    aws_secret_access_key: 'canary-unterminated\n";

    // Act + Assess
    expect(() => readFenceConfig(broken)).toThrow(InvalidRequestError);
    expect(() => readFenceConfig(broken)).toThrow(/not valid YAML \([A-Z_]+ at line \d+, column \d+\)/);
    expect(() => readFenceConfig(broken)).not.toThrow(/canary/);
  });

  it("reads a file with a duplicate key outside the settings it reads, as Fence's PyYAML does (Fence's own config-default.yaml has one)", () => {
    // Prepare: a duplicate nested key elsewhere, and a duplicate top-level setting migrate never reads.
    const source = `${FIXTURE}\ndbGaP:\n  - info: {}\n    allowed: []\n    allowed: []\nAPP_NAME: 'again'\n`;

    // Act
    const config = readFenceConfig(source);

    // Assess
    expect(config.credentials.has('CRED-DATA')).toBe(true);
    expect(config.buckets.length).toBeGreaterThan(0);
  });

  it.each([
    [
      'a credential named twice',
      "AWS_CREDENTIALS:\n  CRED1: {aws_access_key_id: 'AKIA1', aws_secret_access_key: 'canary-one'}\n  CRED1: {aws_access_key_id: 'AKIA2', aws_secret_access_key: 'canary-two'}\n",
      3,
    ],
    [
      'a key field twice in one entry',
      "AWS_CREDENTIALS:\n  CRED1:\n    aws_access_key_id: 'AKIA1'\n    aws_secret_access_key: 'canary-one'\n    aws_secret_access_key: 'canary-two'\n",
      5,
    ],
    [
      'AWS_CREDENTIALS twice',
      "AWS_CREDENTIALS: {}\nS3_BUCKETS: {}\nAWS_CREDENTIALS:\n  CRED1: {aws_access_key_id: 'AKIA1', aws_secret_access_key: 'canary-one'}\n",
      3,
    ],
    [
      'a bucket setting twice',
      "AWS_CREDENTIALS: {}\nS3_BUCKETS:\n  b1:\n    cred: '*'\n    cred: CRED1\n",
      5,
    ],
  ])('refuses a duplicate key where it reads (%s), by position, never quoting it', (_, source, line) => {
    // Act + Assess: the yaml library would read the first, Fence the last.
    expect(() => readFenceConfig(source)).toThrow(InvalidRequestError);
    expect(() => readFenceConfig(source)).toThrow(new RegExp(`duplicate key at line ${line}, column \\d+`));
    expect(() => readFenceConfig(source)).not.toThrow(/canary|AKIA/);
  });

  it('names what cannot be migrated: unknown or missing cred, empty keys, keys beside secret_ref, odd names, aliases', () => {
    // Prepare
    const source = [
      'AWS_CREDENTIALS:',
      "  EMPTY: {aws_access_key_id: '', aws_secret_access_key: ''}",
      "  BOTH: {aws_access_key_id: 'AKIA1', aws_secret_access_key: 'canary-both', secret_ref: 'x'}",
      "  'bad name': {aws_access_key_id: 'AKIA2', aws_secret_access_key: 'canary-name'}",
      "  ORIGINAL: &keys {aws_access_key_id: 'AKIA3', aws_secret_access_key: 'canary-alias'}",
      '  ALIAS: *keys',
      "  MOVED: {secret_ref: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x'}",
      "  UNUSED: {aws_access_key_id: 'AKIA4', aws_secret_access_key: 'canary-unused'}",
      'S3_BUCKETS:',
      '  a-bucket: {cred: NOPE}',
      '  b-bucket: {region: us-east-1}',
      '  c-bucket: {cred: EMPTY}',
      '  d-bucket: {cred: BOTH}',
      "  e-bucket: {cred: 'bad name'}",
      '  f-bucket: {cred: ALIAS}',
      '  g-bucket: {cred: MOVED}',
      '  h-bucket: {cred: ORIGINAL}',
      'STORAGE_CREDENTIALS:',
      "  cleversafe: {backend: cleversafe, aws_access_key_id: 'AKIA5', aws_secret_access_key: 'canary-storage'}",
      '',
    ].join('\n');

    // Act
    const config = readFenceConfig(source);

    // Assess
    const problem = (name: string) => config.credentials.get(name)?.problem;
    expect(problem('EMPTY')).toMatch(/aws_access_key_id is missing or not a plain string/);
    expect(config.credentials.get('EMPTY')?.empty).toBe(true);
    expect(config.credentials.get('BOTH')?.empty).toBe(false);
    expect(problem('BOTH')).toMatch(/both keys and secret_ref/);
    expect(problem('bad name')).toMatch(/cannot name a secret/);
    expect(problem('ALIAS')).toMatch(/YAML alias/);
    expect(config.credentials.get('MOVED')).toMatchObject({ problem: undefined, keys: undefined });
    expect(config.credentials.get('MOVED')?.secretRef).toMatch(/^arn:aws:secretsmanager:/);
    expect(config.buckets.find((bucket) => bucket.name === 'a-bucket')?.problem).toMatch(
      /names NOPE, which AWS_CREDENTIALS does not define/,
    );
    expect(config.buckets.find((bucket) => bucket.name === 'b-bucket')?.problem).toMatch(/has no cred/);
    expect(config.notes).toEqual([
      'AWS_CREDENTIALS.UNUSED is used by no bucket in S3_BUCKETS: left in the file',
      'STORAGE_CREDENTIALS has 1 entry (other storage backends): not migrated',
    ]);
    expect(JSON.stringify([...config.credentials.values()].map((entry) => entry.problem))).not.toMatch(
      /canary/,
    );
  });
});

describe('Function: rewriteCredentials', () => {
  it('replaces each moved key pair with secret_ref and a dated comment; every other byte stays', () => {
    // Prepare
    const { config, moves } = movesFor(FIXTURE);

    // Act
    const rewrite = rewriteCredentials(config, moves, {
      movedAt: MOVED_AT,
      backendLabel: 'AWS Secrets Manager',
    });

    // Assess: no key left, and the lines outside the credential entries are the original lines.
    for (const key of keysOf(FIXTURE)) expect(rewrite.text).not.toContain(key);
    const keyLine = /aws_access_key_id|aws_secret_access_key/;
    const added = /keys moved to|secret_ref|# rotated 2024-02$/;
    expect(rewrite.text.split('\n').filter((line) => !added.test(line))).toEqual(
      FIXTURE.split('\n').filter((line) => !keyLine.test(line)),
    );
    const before = parse(FIXTURE);
    const after = parse(rewrite.text);
    expect({ ...after, AWS_CREDENTIALS: undefined }).toEqual({ ...before, AWS_CREDENTIALS: undefined });
    expect(after.AWS_CREDENTIALS).toEqual(
      Object.fromEntries(moves.map((move) => [move.credential.name, { secret_ref: move.secretRef }])),
    );
    // Quoting follows the value it replaces; the flow mapping stays one line.
    expect(rewrite.text).toContain(`    secret_ref: '${moves[0]?.secretRef}'`);
    expect(rewrite.text).toContain(`    secret_ref: "${moves[1]?.secretRef}"`);
    expect(rewrite.text).toContain(`    secret_ref: ${moves[2]?.secretRef}\n`);
    expect(rewrite.text).toContain(`  'CRED-PARTNER': {secret_ref: '${moves[3]?.secretRef}'}\n`);
    expect(rewrite.text).toContain(
      '    # keys moved to AWS Secrets Manager as gen3/fence/fence-config/CRED-DATA by fence-buckets migrate on 2026-03-01\n    # rotated 2024-02\n',
    );
    expect(rewrite.refused).toEqual([]);
  });

  it('leaves credentials it was not asked to move untouched', () => {
    // Prepare
    const { config, moves } = movesFor(FIXTURE, ['CRED-MINIO']);

    // Act
    const rewrite = rewriteCredentials(config, moves, {
      movedAt: MOVED_AT,
      backendLabel: 'AWS Secrets Manager',
    });

    // Assess
    expect(rewrite.text).toContain(fixtureKeyId('CRED-DATA'));
    expect(rewrite.text).not.toContain('MINIOFIXTUREACCESSKEY');
    expect(rewrite.hunks.map((hunk) => hunk.credential)).toEqual(['CRED-MINIO']);
  });

  it('keeps CRLF line ends', () => {
    // Prepare
    const crlf = FIXTURE.replaceAll('\n', '\r\n');
    const { config, moves } = movesFor(crlf, ['CRED-DATA', 'CRED-PARTNER']);

    // Act
    const rewrite = rewriteCredentials(config, moves, {
      movedAt: MOVED_AT,
      backendLabel: 'AWS Secrets Manager',
    });

    // Assess
    expect(rewrite.text.replaceAll('\r\n', '')).not.toContain('\n');
    expect(rewrite.text).not.toContain(fixtureKeyId('CRED-DATA'));
  });

  it('refuses an entry whose keys carry an anchor, or a flow mapping with other settings, and changes nothing there', () => {
    // Prepare
    const source = [
      'AWS_CREDENTIALS:',
      '  ANCHORED:',
      "    aws_access_key_id: &id 'AKIAANCHOR'",
      "    aws_secret_access_key: 'canary-anchor'",
      "  MIXED: {aws_access_key_id: 'AKIAMIXED', aws_secret_access_key: 'canary-mixed', note: x}",
      'OTHER: *id',
      '',
    ].join('\n');
    const { config, moves } = movesFor(source);

    // Act
    const rewrite = rewriteCredentials(config, moves, {
      movedAt: MOVED_AT,
      backendLabel: 'AWS Secrets Manager',
    });

    // Assess
    expect(rewrite.text).toBe(source);
    expect(rewrite.refused).toEqual([
      { credential: 'ANCHORED', reason: expect.stringMatching(/anchors a key/) },
      { credential: 'MIXED', reason: expect.stringMatching(/flow mapping with other settings/) },
    ]);
  });
});

describe('Function: redactedDiff', () => {
  it('shows each change by line with the keys redacted', () => {
    // Prepare
    const { config, moves } = movesFor(FIXTURE);
    const rewrite = rewriteCredentials(config, moves, {
      movedAt: MOVED_AT,
      backendLabel: 'AWS Secrets Manager',
    });

    // Act
    const diff = redactedDiff('fence-config.yaml', rewrite.hunks);

    // Assess
    expect(diff).toContain('@@ line 68: AWS_CREDENTIALS.CRED-DATA @@\n-    aws_access_key_id: <redacted>\n');
    expect(diff).toContain("-  'CRED-PARTNER': {<redacted>}");
    for (const key of keysOf(FIXTURE)) expect(diff).not.toContain(key);
  });
});
