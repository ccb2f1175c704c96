import * as path from 'node:path';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RotationEnvironmentSchema } from '../../functions/rotate-minio-key/environment';
import { minimumRotationIntervalSeconds } from '../../functions/shared/rotation/rotation-interval';
import { BrokerFunction } from './broker-function';
import type { BucketRegistryTable } from './bucket-registry-table';

export interface MinioKeyRotationProps {
  /** Secrets under this name prefix may be rotated. @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /** ARNs of the MinIO admin credential secrets the function may read (if outside the prefix). @default none */
  readonly adminSecretArns?: string[];
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
}

/** What the interval rule needs to know about the readers of a rotated secret. */
export interface RotationIntervalInputs {
  /** The presign function's credentials cache TTL (its ±10 % jitter is added). @default Duration.seconds(300) */
  readonly cacheTtl?: Duration;
  /** The longest presigned URL any bucket on this secret may issue (its max_expires_in). */
  readonly maxUrlLifetime: Duration;
  /** @default Duration.minutes(10) */
  readonly margin?: Duration;
  /** The presign function's stale-on-error window. @default Duration.hours(1) */
  readonly staleOnError?: Duration;
  /** How early Secrets Manager may start a scheduled rotation. @default Duration.days(1) */
  readonly rotationWindow?: Duration;
}

/**
 * The MinIO key-rotation function that Secrets Manager invokes. Only Secrets Manager, on behalf
 * of this account, may invoke it; its role touches only secrets under the prefix that name this
 * function as their rotation Lambda, plus the MinIO admin secrets it is given.
 */
export class MinioKeyRotation extends Construct {
  readonly function: BrokerFunction<typeof RotationEnvironmentSchema>;

  constructor(scope: Construct, id: string, props: MinioKeyRotationProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.secretsPrefix ?? 'gen3/fence/';
    this.function = new BrokerFunction(this, 'Function', {
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
      },
      // Each admin answer costs one Argon2id derivation (64 MiB, ~0.25 s).
      memorySize: 1024,
      timeout: Duration.seconds(60),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
    });
    this.function.addPermission('InvokedBySecretsManager', {
      principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
      sourceAccount: stack.account,
    });
    const role = this.function.role as iam.Role;
    if (props.registry !== undefined) {
      // Scan of the table only (not its index): the records whose secret_ref names a secret.
      iam.Grant.addToPrincipal({
        grantee: role,
        actions: ['dynamodb:Scan'],
        resourceArns: [props.registry.table.tableArn],
      });
    }
    const rotated = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${prefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    // A policy of its own, not the role's default one: its condition names the function, and the
    // function already waits for the default policy (the two would depend on each other).
    const writes = new iam.Policy(this, 'RotatedSecretsAccess', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          actions: [
            'secretsmanager:DescribeSecret',
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            'secretsmanager:UpdateSecretVersionStage',
          ],
          resources: [rotated],
          // Only secrets whose rotation is this function.
          conditions: {
            StringEquals: { 'secretsmanager:resource/AllowRotationLambdaArn': this.function.functionArn },
          },
        }),
      ],
    });
    Validations.of(writes).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason:
        'Rotated secrets are registered at run time under the prefix; the condition limits them to those naming this function.',
    });
    if (props.adminSecretArns !== undefined && props.adminSecretArns.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: props.adminSecretArns,
        }),
      );
    } else {
      // Admin secrets live under the prefix too: readable, but only readable.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [rotated] }),
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
      }),
    );
    const policy = role.node.findChild('DefaultPolicy');
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason: 'MinIO admin secrets are registered at run time under the prefix; read only.',
    });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason: 'Secrets may use any customer key; kms:ViaService limits use to Secrets Manager.',
    });
  }

  /**
   * Attaches a rotation schedule to a registered MinIO secret. Refuses an interval that does not
   * exceed cache TTL + maximum URL lifetime + margin: AWSPREVIOUS must outlive every cached copy
   * and every URL signed with it, since the next rotation deletes it.
   */
  rotate(
    id: string,
    secret: secretsmanager.ISecret,
    every: Duration,
    readers: RotationIntervalInputs,
  ): secretsmanager.RotationSchedule {
    const needed = minimumRotationIntervalSeconds({
      cacheTtlSeconds: (readers.cacheTtl ?? Duration.seconds(300)).toSeconds(),
      cacheJitter: 0.1,
      maxUrlLifetimeSeconds: readers.maxUrlLifetime.toSeconds(),
      marginSeconds: (readers.margin ?? Duration.minutes(10)).toSeconds(),
      staleOnErrorSeconds: (readers.staleOnError ?? Duration.hours(1)).toSeconds(),
      rotationWindowSeconds: (readers.rotationWindow ?? Duration.days(1)).toSeconds(),
    });
    if (every.toSeconds() <= needed) {
      throw new Error(
        `rotation every ${every.toHumanString()} is too short: keys must outlive cache TTL + URL lifetime + stale window + margin, plus the rotation window (${Duration.seconds(Math.ceil(needed)).toHumanString()})`,
      );
    }
    return new secretsmanager.RotationSchedule(this, id, {
      secret,
      rotationLambda: this.function,
      automaticallyAfter: every,
    });
  }
}
