import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../../lib/app';
import { DEFAULT_DRIFT_SCHEDULE } from '../../../lib/constructs/scheduled-drift-check';
import { ADMIN_SECRET, FENCE_ROLE, synthesize } from '../synthesized-stack';

const outdir = () => mkdtempSync(join(tmpdir(), 'fbb-cdk-'));

describe('Construct: ScheduledDriftCheck', () => {
  it('runs the drift-check function nightly by default, from an EventBridge rule', () => {
    // Act
    const { stack, template } = synthesize();

    // Assess
    const functionArn = stack.resolve(stack.driftCheck.function.functionArn);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: DEFAULT_DRIFT_SCHEDULE,
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: functionArn })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: functionArn,
    });
    expect(DEFAULT_DRIFT_SCHEDULE).toBe('cron(0 3 * * ? *)');
  });

  it.each([['cron(30 1 * * ? *)'], ['rate(6 hours)'], ['rate(1 day)']])(
    'takes -c driftSchedule=%s',
    (expression) => {
      const { template } = synthesize({ driftSchedule: expression });
      template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: expression });
    },
  );

  it.each([['nightly'], ['cron(0 3 * * *)'], ['rate(1 days)'], ['rate(0 hours)']])(
    'refuses -c driftSchedule=%s, naming the key',
    (expression) => {
      expect(() =>
        buildApp({ outdir: outdir(), context: { fenceRoleArns: FENCE_ROLE, driftSchedule: expression } }),
      ).toThrow(/context driftSchedule must be an EventBridge cron\(…\) with six fields or rate/);
    },
  );

  it('gives the function its environment, one reserved execution (one run at a time), and room for a thousand buckets', () => {
    // Act
    const { stack, template } = synthesize({ minioAdminSecretArns: ADMIN_SECRET });

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('drift check'),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 600,
      ReservedConcurrentExecutions: 1,
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          REGISTRY_TABLE_NAME: stack.resolve(stack.registry.tableName),
          DRIFT_REPORT_BUCKET: stack.resolve(stack.driftCheck.reports.bucketName),
          FENCE_SECRETS_BACKEND: 'aws_sm',
          FENCE_SECRETS_PREFIX: 'gen3/fence/',
          FENCE_MINIO_ADMIN_SECRET_ARNS: ADMIN_SECRET,
          DRIFT_CONCURRENCY: '16',
          DRIFT_CHECK_TIMEOUT_SECONDS: '10',
          DRIFT_MAX_PIN_AGE_DAYS: '30',
          POWERTOOLS_METRICS_NAMESPACE: 'FenceBucketBroker',
        }),
      },
    });
  });

  it('keeps reports in a bucket that is encrypted, private, TLS-only, owner-enforced, versioned and expires them', () => {
    // Act
    const { stack, template } = synthesize({ driftReportRetentionDays: '90' });

    // Assess
    const bucket = stack.resolve(stack.driftCheck.reports.bucket.bucketArn);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: [
            {
              Id: 'ExpireDriftReports',
              Prefix: 'reports/',
              Status: 'Enabled',
              ExpirationInDays: 90,
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            },
            {
              Id: 'RemoveExpiredDeleteMarkers',
              Prefix: 'reports/',
              Status: 'Enabled',
              ExpiredObjectDeleteMarker: true,
            },
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: Match.arrayWith([bucket]),
          }),
        ]),
      },
    });
  });

  it('takes -c driftMaxPinAgeDays (the age past which a custom-label pin is a pin_age finding), refusing a non-count', () => {
    // Act
    const { template } = synthesize({ driftMaxPinAgeDays: '45' });

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('drift check'),
      Environment: { Variables: Match.objectLike({ DRIFT_MAX_PIN_AGE_DAYS: '45' }) },
    });
    expect(() => synthesize({ driftMaxPinAgeDays: 'a month' })).toThrow(/driftMaxPinAgeDays/);
  });

  it('takes -c driftMaxStaticKeyAgeDays (the age past which a static AWS key without rotation is a key_age finding), 90 unless set, refusing a non-count', () => {
    // Act
    const { template } = synthesize({ driftMaxStaticKeyAgeDays: '120' });
    const unset = synthesize().template;

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('drift check'),
      Environment: { Variables: Match.objectLike({ DRIFT_MAX_STATIC_KEY_AGE_DAYS: '120' }) },
    });
    unset.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('drift check'),
      Environment: { Variables: Match.objectLike({ DRIFT_MAX_STATIC_KEY_AGE_DAYS: '90' }) },
    });
    expect(() => synthesize({ driftMaxStaticKeyAgeDays: '0' })).toThrow(/driftMaxStaticKeyAgeDays/);
  });

  it('expires reports after 400 days unless told otherwise', () => {
    synthesize().template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 400 })]) },
    });
  });

  it('outputs the report bucket and the alarm topic', () => {
    const outputs = synthesize().template.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['DriftReportBucketName', 'AlarmTopicArn']));
  });
});
