import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DRIFT_REPORT_PREFIX } from '../../functions/shared/drift/drift-report-store';

export interface DriftReportBucketProps {
  /** How long a report is kept. @default Duration.days(400): a year of nightly runs, and a month to compare with */
  readonly retention?: Duration;
  /** @default RemovalPolicy.RETAIN: reports outlive the stack unless the operator says otherwise */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where the drift check keeps its reports (`reports/<ISO time>.json`, `reports/latest.json`):
 * encrypted (S3-managed keys), public access blocked, TLS only, owner-enforced (no ACLs), and a
 * lifecycle rule that expires reports after `retention`. Not versioned: every report is written
 * once under its own dated key, and `latest.json` is a copy of the newest one, so versions would
 * only keep copies the dated keys already hold (and the lifecycle rule would have to chase them).
 */
export class DriftReportBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DriftReportBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'ExpireDriftReports',
          prefix: DRIFT_REPORT_PREFIX,
          expiration: props.retention ?? Duration.days(400),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the drift-check role writes here (reports/ only, IAM matrix) and operators read; CloudTrail data events cover access if wanted, without a second bucket for access logs.',
    });
  }

  get bucketName(): string {
    return this.bucket.bucketName;
  }
}
