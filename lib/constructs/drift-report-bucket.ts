import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DRIFT_REPORT_PREFIX } from '../../functions/shared/drift/drift-report-store';
import { type ReportBucketPrincipals, reportBucketStatements } from '../iam/report-bucket-access';

export interface DriftReportBucketProps {
  /** How long a report is kept. @default Duration.days(400): a year of nightly runs, and a month to compare with */
  readonly retention?: Duration;
  /** @default RemovalPolicy.RETAIN: reports outlive the stack unless the operator says otherwise */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long an overwritten or deleted report stays recoverable (a noncurrent version).
   * @default Duration.days(30)
   */
  readonly noncurrentRetention?: Duration;
}

/**
 * Where the drift check keeps its reports (`reports/<ISO time>.json`, `reports/latest.json`):
 * encrypted (S3-managed keys), public access blocked, TLS only, owner-enforced (no ACLs), and a
 * lifecycle rule that expires reports after `retention`. Versioned: the drift role may put any
 * key under `reports/`, so a report it (or whoever holds its credentials) overwrites or deletes
 * stays recoverable for `noncurrentRetention`, and a quiet `latest.json` cannot hide an earlier
 * finding. `admitOnly` adds the bucket policy that limits readers and writers.
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
      versioned: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'ExpireDriftReports',
          prefix: DRIFT_REPORT_PREFIX,
          expiration: props.retention ?? Duration.days(400),
          noncurrentVersionExpiration: props.noncurrentRetention ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // S3 refuses a delete-marker cleanup in a rule with an expiration in days.
        { id: 'RemoveExpiredDeleteMarkers', prefix: DRIFT_REPORT_PREFIX, expiredObjectDeleteMarker: true },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the drift-check role writes here (reports/ only, IAM matrix) and operators read; CloudTrail data events cover access if wanted, without a second bucket for access logs.',
    });
  }

  /**
   * The bucket policy: only `writerRoleArn` writes objects, only it and `readerArns` read them
   * (`reportBucketStatements`, which explains the break-glass path).
   */
  admitOnly(principals: ReportBucketPrincipals): void {
    for (const statement of reportBucketStatements(this.bucket.bucketArn, principals)) {
      this.bucket.addToResourcePolicy(statement);
    }
  }

  get bucketName(): string {
    return this.bucket.bucketName;
  }
}
