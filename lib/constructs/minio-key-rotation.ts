import * as path from 'node:path';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RotationEnvironmentSchema } from '../../functions/rotate-minio-key/environment';
import { minimumRotationIntervalSeconds } from '../../functions/shared/rotation/rotation-interval';
import { ADMIN_SECRETS_PATH, ROTATION_MATRIX } from '../iam/iam-matrix';
import { addMatrixRules, matrixStatement } from '../iam/matrix-statement';
import { BrokerFunction, reservedOrNone } from './broker-function';
import type { BucketRegistryTable } from './bucket-registry-table';
import { type StoreEndpointSettings, storeEndpointEnvironment } from './store-endpoint-settings';

export interface MinioKeyRotationProps {
  /** Secrets under this name prefix may be rotated. @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /**
   * ARNs of the MinIO admin credential secrets, the only secrets the function may read besides
   * those it rotates. Each lives under `<prefix>admin/` (which the presign role is denied) or
   * outside the prefix. Required: there is no prefix-wide fallback.
   */
  readonly adminSecretArns: string[];
  /**
   * Concurrent executions reserved for the rotation function, so a flood of presigns cannot
   * starve it (and it cannot flood MinIO's admin API). 0: no reservation. @default 5
   */
  readonly reservedConcurrency?: number;
  /** MinIO is often private: place the function in a VPC that reaches it. @default no VPC */
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * The registry: finishSecret reads (Scan, read-only) the `max_expires_in` of the buckets on a
   * secret, so a demoted key outlives their longest URLs. @default none: `defaultMaxUrlLifetime` only
   */
  readonly registry?: BucketRegistryTable;
  /** The presign function's credentials cache TTL. @default Duration.seconds(300) */
  readonly readerCacheTtl?: Duration;
  /** The presign function's stale-on-error window. @default Duration.hours(1) */
  readonly readerMaxStale?: Duration;
  /** URL lifetime assumed for every secret (the registry may raise it). @default Duration.hours(1) */
  readonly defaultMaxUrlLifetime?: Duration;
  /** Added to every key's grace. @default Duration.minutes(10) */
  readonly retirementMargin?: Duration;
  /** The instruction set of the function (BrokerFunctionProps.architecture). @default arm64 */
  readonly lambdaArchitecture?: lambda.Architecture;
  /** Where the function's own calls to stores may go (SSRF). @default https to public addresses only */
  readonly storeEndpoints?: StoreEndpointSettings;
}

/** What the interval rule needs to know about the readers of a rotated secret and its schedule. */
export interface RotationIntervalInputs {
  /** The presign function's credentials cache TTL (its ±10 % jitter is added). @default Duration.seconds(300) */
  readonly cacheTtl?: Duration;
  /**
   * How long the presign cache serves a value after the backend fails: the presign function's
   * FENCE_SECRET_CACHE_MAX_STALE_SECONDS. @default Duration.hours(1)
   */
  readonly staleOnError?: Duration;
  /** The longest presigned URL any bucket on this secret may issue (its max_expires_in). */
  readonly maxUrlLifetime: Duration;
  /** @default Duration.minutes(10) */
  readonly margin?: Duration;
  /**
   * How much earlier than the interval a scheduled rotation may run. Secrets Manager rotates "at
   * any time during the rotation window"; for a `rate()` schedule in days the window starts at
   * midnight and closes at the end of the UTC day (RotationRulesType, Secrets Manager API
   * Reference), so rotation n may run at 23:59 and rotation n+1 at 00:00 one day short of the
   * interval. @default Duration.hours(24)
   */
  readonly rotationWindow?: Duration;
}

/**
 * The MinIO key-rotation function that Secrets Manager invokes. Only Secrets Manager, on behalf
 * of this account, may invoke it; its role (`ROTATION_MATRIX`) touches only secrets under the
 * prefix that name this function as their rotation Lambda, plus the MinIO admin secrets it is
 * given.
 */
export class MinioKeyRotation extends Construct {
  readonly function: BrokerFunction<typeof RotationEnvironmentSchema>;
  private readonly rotatedSecretsAccess: iam.Policy;

  constructor(scope: Construct, id: string, props: MinioKeyRotationProps) {
    super(scope, id);
    const prefix = props.secretsPrefix ?? 'gen3/fence/';
    checkAdminSecretArns(props.adminSecretArns, prefix);
    this.function = new BrokerFunction(this, 'Function', {
      architecture: props.lambdaArchitecture,
      entry: path.join(__dirname, '../../functions/rotate-minio-key/handler.ts'),
      description: 'Rotates MinIO access keys held in Secrets Manager (fence-bucket-broker)',
      environmentSchema: RotationEnvironmentSchema,
      environment: {
        FENCE_SECRETS_PREFIX: prefix,
        FENCE_SECRET_CACHE_TTL_SECONDS: String((props.readerCacheTtl ?? Duration.seconds(300)).toSeconds()),
        FENCE_SECRET_CACHE_MAX_STALE_SECONDS: String((props.readerMaxStale ?? Duration.hours(1)).toSeconds()),
        FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS: String(
          (props.defaultMaxUrlLifetime ?? Duration.hours(1)).toSeconds(),
        ),
        FENCE_ROTATION_MARGIN_SECONDS: String((props.retirementMargin ?? Duration.minutes(10)).toSeconds()),
        REGISTRY_TABLE_NAME: props.registry?.tableName,
        ...storeEndpointEnvironment(props.storeEndpoints),
      },
      // Each admin answer costs one Argon2id derivation (64 MiB, ~0.25 s).
      memorySize: 1024,
      timeout: Duration.seconds(60),
      reservedConcurrentExecutions: reservedOrNone(props.reservedConcurrency ?? 5),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
    });
    this.function.addPermission('InvokedBySecretsManager', {
      principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
      sourceAccount: Stack.of(this).account,
    });
    const role = this.function.role as iam.Role;
    const { rotateOwnSecrets, ...others } = ROTATION_MATRIX.rules;
    const values = {
      prefix,
      rotationFunction: this.function.functionArn,
      adminSecrets: props.adminSecretArns,
      registryTable: props.registry?.table.tableArn ?? [],
    };
    // A policy of its own, not the role's default one: its condition names the function, and the
    // function already waits for the default policy (the two would depend on each other).
    const writes = new iam.Policy(this, 'RotatedSecretsAccess', {
      roles: [role],
      statements: [matrixStatement(this, rotateOwnSecrets, values)].filter(
        (statement): statement is iam.PolicyStatement => statement !== undefined,
      ),
    });
    this.rotatedSecretsAccess = writes;
    Validations.of(writes).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason:
        'Rotated secrets are registered at run time under the prefix; the condition limits them to those naming this function.',
    });
    addMatrixRules(role, Object.values(others), values);
    Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason: 'Secrets may use any customer key; kms:ViaService limits use to Secrets Manager.',
    });
  }

  /**
   * Attaches a rotation schedule to a registered MinIO secret. Refuses an interval that does not
   * exceed cache TTL + stale-on-error + maximum URL lifetime + margin + the rotation window:
   * AWSPREVIOUS must outlive every cached copy and every URL signed with it, since the next
   * rotation deletes it, and a scheduled rotation may run up to a window early.
   *
   * Not CDK's `RotationSchedule`: it grants `lambda:InvokeFunction` to Secrets Manager without
   * `aws:SourceAccount` and adds role statements of its own (writes without the
   * rotation-Lambda condition, `GetRandomPassword` on `*`). The only invoke permission is the
   * construct's own, and the role is exactly `ROTATION_MATRIX`.
   */
  rotate(
    id: string,
    secret: secretsmanager.ISecret,
    every: Duration,
    readers: RotationIntervalInputs,
  ): secretsmanager.CfnRotationSchedule {
    const needed = minimumRotationIntervalSeconds({
      cacheTtlSeconds: (readers.cacheTtl ?? Duration.seconds(300)).toSeconds(),
      cacheJitter: 0.1,
      staleOnErrorSeconds: (readers.staleOnError ?? Duration.hours(1)).toSeconds(),
      maxUrlLifetimeSeconds: readers.maxUrlLifetime.toSeconds(),
      marginSeconds: (readers.margin ?? Duration.minutes(10)).toSeconds(),
      rotationWindowSeconds: (readers.rotationWindow ?? Duration.hours(24)).toSeconds(),
    });
    if (every.toSeconds() <= needed) {
      throw new Error(
        `rotation every ${every.toHumanString()} is too short: keys must outlive cache TTL + stale-on-error + URL lifetime + margin, and a scheduled rotation may run a rotation window early (${Duration.seconds(Math.ceil(needed)).toHumanString()} in all)`,
      );
    }
    if (every.toSeconds() > Duration.days(1000).toSeconds()) {
      throw new Error(`rotation every ${every.toHumanString()} is longer than Secrets Manager's 1000 days`);
    }
    const schedule = new secretsmanager.CfnRotationSchedule(this, id, {
      secretId: secret.secretArn,
      rotationLambdaArn: this.function.functionArn,
      rotationRules: { scheduleExpression: events.Schedule.rate(every).expressionString },
      // A deploy that changes the schedule must not rotate at once (a key still in use would be
      // retired early); Secrets Manager then only runs testSecret to check the configuration.
      rotateImmediatelyOnUpdate: false,
    });
    // That test invocation needs the permission and the role's policies in place.
    schedule.node.addDependency(this.function.permissionsNode.findChild('InvokedBySecretsManager'));
    schedule.node.addDependency(this.function.role as iam.Role);
    schedule.node.addDependency(this.rotatedSecretsAccess);
    return schedule;
  }
}

/**
 * Admin secrets must be named, and none may sit under the prefix outside `<prefix>admin/`: the
 * presign role reads everything else under the prefix, and a MinIO admin credential there would be
 * one presign away from any caller of the API.
 */
function checkAdminSecretArns(arns: readonly string[] | undefined, prefix: string): void {
  if (arns === undefined || arns.length === 0) {
    throw new Error(
      'MinioKeyRotation needs adminSecretArns: the MinIO admin credential secrets rotation may read (-c minioAdminSecretArns=...)',
    );
  }
  for (const arn of arns) {
    if (Token.isUnresolved(arn)) continue;
    const name = arn.split(':secret:')[1] ?? arn;
    if (name.startsWith(prefix) && !name.startsWith(`${prefix}${ADMIN_SECRETS_PATH}`)) {
      throw new Error(
        `MinIO admin secret ${arn} is under ${prefix} but not under ${prefix}${ADMIN_SECRETS_PATH}, so the presign role could read it: move it there or outside the prefix`,
      );
    }
  }
}
