import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DriftEnvironmentSchema } from '../../functions/drift-check/environment';
import { DEFAULT_MAX_PIN_AGE_DAYS } from '../../functions/shared/drift/drift-check';
import { DEFAULT_MAX_STATIC_KEY_AGE_DAYS } from '../../functions/shared/drift/static-key-age';
import { DRIFT_CHECK_MATRIX } from '../iam/iam-matrix';
import { addMatrixRules } from '../iam/matrix-statement';
import { BrokerFunction, reservedOrNone } from './broker-function';
import type { BucketRegistryTable } from './bucket-registry-table';
import { DriftReportBucket } from './drift-report-bucket';
import type { LambdaSecretsAccess } from './lambda-secrets-access';
import { type StoreEndpointSettings, storeEndpointEnvironment } from './store-endpoint-settings';

/**
 * SDK clients the drift check takes from the Lambda runtime's own AWS SDK v3 (as the presign
 * function does), each loaded on first use: the bundle stays small, and these calls need nothing
 * newer than the runtime's SDK has.
 */
export const DRIFT_RUNTIME_PROVIDED_MODULES = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/lib-dynamodb',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-kms',
  '@aws-sdk/client-s3',
  '@aws-sdk/credential-provider-node',
];

/** Nightly at 03:00 UTC. */
export const DEFAULT_DRIFT_SCHEDULE = 'cron(0 3 * * ? *)';

export interface ScheduledDriftCheckProps {
  readonly registry: BucketRegistryTable;
  /** Secrets are read under this prefix only. @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /** Secrets backends and Google identity of the function. @default aws_sm only */
  readonly secretsAccess?: LambdaSecretsAccess;
  /** Role ARNs that role-mode buckets name; each run assumes them. @default none */
  readonly assumableRoleArns?: string[];
  /** MinIO admin credential secrets (the rotation function's), read to list a parent's keys. @default none */
  readonly adminSecretArns?: string[];
  /** When to run: an EventBridge `cron(…)` or `rate(…)` expression. @default DEFAULT_DRIFT_SCHEDULE */
  readonly schedule?: events.Schedule;
  /** How long reports are kept. @default see DriftReportBucketProps */
  readonly reportRetention?: Duration;
  /**
   * Roles that may read the reports besides the drift-check role (the stack passes
   * `adminRoleArns`); every other principal is denied by the bucket policy. @default none
   */
  readonly reportReaderArns?: string[];
  /** Buckets checked at the same time. @default 16 */
  readonly concurrency?: number;
  /** The longest one check may take. @default Duration.seconds(10) */
  readonly checkTimeout?: Duration;
  /**
   * The oldest a version pinned by a custom staging label may be before the pin is a `pin_age`
   * finding (whole days). @default Duration.days(DEFAULT_MAX_PIN_AGE_DAYS), 30 days
   */
  readonly maxPinAge?: Duration;
  /**
   * The oldest a static AWS key without rotation may be, by its secret version's creation date,
   * before it is a `key_age` finding (whole days). @default Duration.days(DEFAULT_MAX_STATIC_KEY_AGE_DAYS), 90 days
   */
  readonly maxStaticKeyAge?: Duration;
  /**
   * Concurrent executions reserved for the drift check: one run at a time. A run probes every
   * bucket's store and reads every secret (with `concurrency` in flight); a second run started
   * by hand during the nightly one would double that load for the same answer. 0: no
   * reservation. @default 1
   */
  readonly reservedConcurrency?: number;
  /** The instruction set of the function (BrokerFunctionProps.architecture). @default arm64 */
  readonly lambdaArchitecture?: lambda.Architecture;
  /** Where the function's own calls to stores may go (SSRF). @default https to public addresses only */
  readonly storeEndpoints?: StoreEndpointSettings;
}

/**
 * The scheduled drift check (DESIGN.md: EventBridge → drift-check Lambda → metrics, alarms,
 * report): the function, its schedule, its report bucket, and the drift-check role of DESIGN.md's
 * IAM split, built from `DRIFT_CHECK_MATRIX`.
 */
export class ScheduledDriftCheck extends Construct {
  readonly function: BrokerFunction<typeof DriftEnvironmentSchema>;
  readonly reports: DriftReportBucket;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ScheduledDriftCheckProps) {
    super(scope, id);
    const prefix = props.secretsPrefix ?? 'gen3/fence/';
    const adminSecretArns = props.adminSecretArns ?? [];
    this.reports = new DriftReportBucket(this, 'Reports', { retention: props.reportRetention });
    this.function = new BrokerFunction(this, 'Function', {
      architecture: props.lambdaArchitecture,
      entry: path.join(__dirname, '../../functions/drift-check/handler.ts'),
      description:
        "Checks every registered bucket's credentials, keys and policies (fence-bucket-broker drift check)",
      environmentSchema: DriftEnvironmentSchema,
      environment: {
        REGISTRY_TABLE_NAME: props.registry.tableName,
        FENCE_SECRETS_BACKEND: 'aws_sm',
        ...props.secretsAccess?.environment,
        // Its own Vault role and Google service account: no other function shares them.
        ...props.secretsAccess?.identities.drift,
        FENCE_SECRETS_PREFIX: prefix,
        DRIFT_REPORT_BUCKET: this.reports.bucketName,
        DRIFT_CONCURRENCY: String(props.concurrency ?? 16),
        DRIFT_CHECK_TIMEOUT_SECONDS: String((props.checkTimeout ?? Duration.seconds(10)).toSeconds()),
        DRIFT_MAX_PIN_AGE_DAYS: String((props.maxPinAge ?? Duration.days(DEFAULT_MAX_PIN_AGE_DAYS)).toDays()),
        DRIFT_MAX_STATIC_KEY_AGE_DAYS: String(
          (props.maxStaticKeyAge ?? Duration.days(DEFAULT_MAX_STATIC_KEY_AGE_DAYS)).toDays(),
        ),
        FENCE_MINIO_ADMIN_SECRET_ARNS: adminSecretArns.length === 0 ? undefined : adminSecretArns.join(','),
        ...storeEndpointEnvironment(props.storeEndpoints),
      },
      // A parent's key listing costs one Argon2id derivation (64 MiB); a thousand buckets take ~a minute.
      memorySize: 1024,
      timeout: Duration.minutes(10),
      reservedConcurrentExecutions: reservedOrNone(props.reservedConcurrency ?? 1),
      bundledFiles: props.secretsAccess?.bundledFiles,
      runtimeProvidedModules: DRIFT_RUNTIME_PROVIDED_MODULES,
    });
    const role = this.function.role as iam.Role;
    const { denyAdminSecrets, denyUnlistedAdminSecrets, ...rules } = DRIFT_CHECK_MATRIX.rules;
    addMatrixRules(
      role,
      [...Object.values(rules), adminSecretArns.length === 0 ? denyAdminSecrets : denyUnlistedAdminSecrets],
      {
        prefix,
        registryTable: props.registry.table.tableArn,
        assumableRoles: props.assumableRoleArns ?? [],
        adminSecrets: adminSecretArns,
        reportBucket: this.reports.bucket.bucketArn,
      },
    );
    this.reports.admitOnly({ writerRoleArn: role.roleArn, readerArns: props.reportReaderArns ?? [] });
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the fence-bucket-broker drift check',
      schedule: props.schedule ?? events.Schedule.expression(DEFAULT_DRIFT_SCHEDULE),
      targets: [new targets.LambdaFunction(this.function)],
    });

    const policy = role.node.findChild('DefaultPolicy');
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason:
        'Secrets may use any customer key: Decrypt only via Secrets Manager, DescribeKey (metadata) to check kms_key_ref.',
    });
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason: 'Bucket secrets are registered at run time under the broker prefix; reads only.',
    });
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).resolve((this.reports.bucket.node.defaultChild as s3.CfnBucket).logicalId)}.Arn>/reports/*]`,
      reason: 'One new object per run (dated key) and latest.json, under reports/ of its own bucket.',
    });
  }
}
