import * as path from 'node:path';
import { Duration, Token, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { SyncEnvironmentSchema } from '../../functions/sync-registry/environment';
import { SYNC_MATRIX } from '../iam/iam-matrix';
import { addMatrixRules } from '../iam/matrix-statement';
import { BrokerFunction, RDS_CA_BUNDLE, reservedOrNone } from './broker-function';
import type { BucketRegistryTable } from './bucket-registry-table';
import { type StoreEndpointSettings, storeEndpointEnvironment } from './store-endpoint-settings';

export interface RegistrySyncProps {
  readonly registry: BucketRegistryTable;
  /**
   * Full ARN of the secret holding Fence DB's connection (an RDS database secret, or
   * `{"url": …}`). Outside the secrets prefix: the presign role reads everything under it.
   */
  readonly fenceDbSecretArn: string;
  /** The VPC Fence DB is reachable from; it must also reach DynamoDB and Secrets Manager (NAT or VPC endpoints). */
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  /** @default a new security group with outbound access only */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** @default every 5 minutes */
  readonly schedule?: events.Schedule;
  /** The broker's secrets prefix, which the sync is denied. @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /**
   * How the connection is secured (`verify`: TLS with the certificate checked against the
   * runtime's CAs, RDS's included). @default 'verify'
   */
  readonly ssl?: 'verify' | 'require' | 'disable';
  /**
   * Concurrent executions reserved for the sync: one run at a time. Overlapping runs are safe
   * (conditional writes) but only double the load on Fence DB and the table; a manual invoke
   * during a scheduled run is throttled instead, and Lambda retries it from its queue.
   * 0: no reservation. @default 1
   */
  readonly reservedConcurrency?: number;
  /**
   * The deployment's cap on any bucket's URL lifetime (`max_expires_in`), at most 7 days.
   * @default Duration.hours(1)
   */
  readonly maxUrlLifetime?: Duration;
  /**
   * The share of the mirror one run may delete (past it, the run deletes nothing and fails its
   * records); see `DeleteCap`. @default 0.1, with at least one delete always allowed
   */
  readonly maxDeleteFraction?: number;
  /**
   * Where a Fence DB row's endpoint may point: the same settings as the functions that call
   * stores, so the sync does not mirror a row the admin API would refuse. @default https to public addresses only
   */
  readonly storeEndpoints?: StoreEndpointSettings;
  /** The instruction set of the function (BrokerFunctionProps.architecture). @default arm64 */
  readonly lambdaArchitecture?: lambda.Architecture;
}

/**
 * The scheduled registry sync (DESIGN.md "Registry of record"): an EventBridge rule runs the sync
 * Lambda in the operator's VPC, which mirrors Fence DB into the registry table. Its role is
 * `SYNC_MATRIX`: its one database secret, the registry table, nothing else.
 */
export class RegistrySync extends Construct {
  readonly function: BrokerFunction<typeof SyncEnvironmentSchema>;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RegistrySyncProps) {
    super(scope, id);
    const prefix = props.secretsPrefix ?? 'gen3/fence/';
    checkSecretArn(props.fenceDbSecretArn, prefix);
    this.function = new BrokerFunction(this, 'Function', {
      architecture: props.lambdaArchitecture,
      entry: path.join(__dirname, '../../functions/sync-registry/handler.ts'),
      description: 'Mirrors Fence DB (the registry of record) into the registry table (fence-bucket-broker)',
      environmentSchema: SyncEnvironmentSchema,
      environment: {
        REGISTRY_TABLE_NAME: props.registry.tableName,
        FENCE_DB_SECRET_ARN: props.fenceDbSecretArn,
        FENCE_DB_SSL: props.ssl ?? 'verify',
        NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE,
        // The record policy the admin and presign functions hold: rows that break it are not mirrored.
        FENCE_SECRETS_PREFIX: prefix,
        MAX_URL_LIFETIME_SECONDS: String((props.maxUrlLifetime ?? Duration.hours(1)).toSeconds()),
        ...storeEndpointEnvironment(props.storeEndpoints),
        ...(props.maxDeleteFraction === undefined
          ? {}
          : { SYNC_MAX_DELETE_FRACTION: String(props.maxDeleteFraction) }),
      },
      // A run is seconds for 10,000 buckets; it must end before the next one starts.
      timeout: Duration.minutes(4),
      reservedConcurrentExecutions: reservedOrNone(props.reservedConcurrency ?? 1),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
    });
    const role = this.function.role as iam.Role;
    addMatrixRules(role, Object.values(SYNC_MATRIX.rules), {
      prefix,
      fenceDbSecret: props.fenceDbSecretArn,
      registryTable: props.registry.table.tableArn,
    });
    Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason: 'The database secret may use any customer key; kms:ViaService limits use to Secrets Manager.',
    });
    // A missed run is not retried: the next one, minutes later, does the same work.
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the fence-bucket-broker registry sync',
      schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}

/**
 * A full secret ARN (IAM grants exactly it), and not under the prefix: the presign role may read
 * every secret there, and the sync role is denied all of them.
 */
function checkSecretArn(arn: string, prefix: string): void {
  if (Token.isUnresolved(arn)) return;
  const name = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(.+)-[A-Za-z0-9]{6}$/.exec(arn)?.[1];
  if (name === undefined) {
    throw new Error(
      `fenceDbSecretArn must be the secret's full ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>), got ${arn}`,
    );
  }
  if (name.startsWith(prefix)) {
    throw new Error(
      `Fence DB's secret ${name} is under ${prefix}, which the presign role reads: keep it elsewhere (an RDS-managed secret, rds!…, is)`,
    );
  }
}
