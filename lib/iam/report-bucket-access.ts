import * as iam from 'aws-cdk-lib/aws-iam';
import { DRIFT_REPORT_ACCESS } from './iam-matrix';

/** Who reads and who writes the drift report bucket (ARNs, tokens allowed). */
export interface ReportBucketPrincipals {
  /** The drift-check function's role: the one writer (its role policy allows `reports/*`). */
  readonly writerRoleArn: string;
  /** The roles that may read reports (`adminRoleArns`); may be empty. */
  readonly readerArns: readonly string[];
}

/**
 * The drift report bucket's policy (`DRIFT_REPORT_ACCESS`): an Allow for the readers, and explicit
 * Denies of object reads and listings for every principal that is neither a reader nor the writer,
 * and of object writes and deletes for every principal but the writer. In the same account an
 * identity policy with `s3:GetObject` on `*` would otherwise read the reports, which map every
 * bucket's secret refs, keys' last characters and weak spots. A negated condition also catches a
 * request without a principal ARN (anonymous, or a service principal).
 *
 * Lockout: no bucket-level action (`Get/Put/DeleteBucketPolicy`, configuration reads) is denied,
 * so the deploy role can always change the policy (a redeploy with other `adminRoleArns` is the
 * way to add a reader), and the account's root user can delete a policy that locks everyone out
 * (S3 always lets it). That is the break-glass path; no standing exception for root is needed.
 */
export function reportBucketStatements(
  bucketArn: string,
  principals: ReportBucketPrincipals,
): iam.PolicyStatement[] {
  const objects = `${bucketArn}/*`;
  const readers = [...principals.readerArns];
  const statements: iam.PolicyStatement[] = [];
  if (readers.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ReadersReadReports',
        actions: [...DRIFT_REPORT_ACCESS.read.allowedActions],
        principals: readers.map((arn) => new iam.ArnPrincipal(arn)),
        resources: [bucketArn, objects],
      }),
    );
  }
  statements.push(
    new iam.PolicyStatement({
      sid: 'DenyReadsToOthers',
      effect: iam.Effect.DENY,
      actions: [...DRIFT_REPORT_ACCESS.read.deniedToOthers],
      principals: [new iam.AnyPrincipal()],
      resources: [bucketArn, objects],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': [principals.writerRoleArn, ...readers] } },
    }),
    new iam.PolicyStatement({
      sid: 'DenyWritesToOthers',
      effect: iam.Effect.DENY,
      actions: [...DRIFT_REPORT_ACCESS.write.deniedToOthers],
      principals: [new iam.AnyPrincipal()],
      resources: [objects],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': [principals.writerRoleArn] } },
    }),
  );
  return statements;
}
