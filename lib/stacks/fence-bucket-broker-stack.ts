import { CfnOutput, Duration, Fn, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SIGV4_MAX_EXPIRES_IN } from '../../functions/shared/registry/bucket-record';
import { DEFAULT_ROTATION_DAYS } from '../../functions/shared/rotation/rotation-interval';
import { AdminApi, type FenceDbAccess } from '../constructs/admin-api';
import { BrokerMonitoring } from '../constructs/broker-monitoring';
import { BucketRegistryTable, type BucketRegistryTableProps } from '../constructs/bucket-registry-table';
import { IamKeyRotation } from '../constructs/iam-key-rotation';
import {
  type LambdaSecretsAccess,
  type LambdaSecretsSettings,
  lambdaSecretsAccess,
  type SecretsFunction,
} from '../constructs/lambda-secrets-access';
import { MinioKeyRotation } from '../constructs/minio-key-rotation';
import { PresignApi } from '../constructs/presign-api';
import { RegistrySync } from '../constructs/registry-sync';
import { ScheduledDriftCheck } from '../constructs/scheduled-drift-check';
import type { StoreEndpointSettings } from '../constructs/store-endpoint-settings';

export interface FenceBucketBrokerStackProps extends StackProps {
  /** Settings of the registry table. @default see BucketRegistryTableProps */
  readonly registry?: BucketRegistryTableProps;
  /** Principals allowed to call the presign API (Fence's role ARNs). */
  readonly fenceRoleArns: string[];
  /**
   * Principals (operators' admin roles) allowed to call the admin API. The admin function and
   * routes are deployed only when this is non-empty (the CLI can also run the admin core with
   * the operator's own credentials). @default none
   */
  readonly adminRoleArns?: string[];
  /** Roles that role-mode buckets name. @default none */
  readonly assumableRoleArns?: string[];
  /** @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /**
   * Secrets backends and Google identity of the presign, admin and drift-check functions.
   * @default aws_sm only, no Google identity
   */
  readonly lambdaSecrets?: LambdaSecretsSettings;
  /**
   * MinIO admin credential secrets, the only ones rotation may read; each under `<prefix>admin/`
   * or outside the prefix. The rotation function is deployed only when this is non-empty.
   * @default none: no rotation function
   */
  readonly minioAdminSecretArns?: string[];
  /** Names of MinIO secrets to rotate on a schedule; needs `minioAdminSecretArns`. @default none */
  readonly rotatedMinioSecrets?: string[];
  /** @default DEFAULT_ROTATION_DAYS (30) days */
  readonly rotationInterval?: Duration;
  /**
   * The IAM path of the users whose access keys the IAM user-key rotation function rotates (e.g.
   * `/gen3-buckets/`). The function is deployed only when this is set. @default none: no IAM-key rotation
   */
  readonly rotatedIamUserPath?: string;
  /** Stage throttling of the presign API. @default see PresignApiProps */
  readonly presignThrottle?: { readonly rateLimit?: number; readonly burstLimit?: number };
  /** Reserved concurrency of the presign function; 0: none. @default 100 */
  readonly presignReservedConcurrency?: number;
  /** Reserved concurrency of each rotation function (MinIO, IAM user keys); 0: none. @default 5 */
  readonly rotationReservedConcurrency?: number;
  /** Reserved concurrency of the admin function; 0: none. @default 5 */
  readonly adminReservedConcurrency?: number;
  /** Reserved concurrency of the sync function; 0: none. @default 1 */
  readonly syncReservedConcurrency?: number;
  /** Reserved concurrency of the drift-check function; 0: none. @default 1 */
  readonly driftReservedConcurrency?: number;
  /**
   * The longest URL lifetime of any bucket (the cap on `max_expires_in`, at most 7 days): the
   * admin API refuses records above it, the sync does not mirror them, presign never signs
   * longer, and the rotation interval rule counts it. @default 1 hour
   */
  readonly maxUrlLifetime?: Duration;
  /** When the drift check runs. @default nightly (DEFAULT_DRIFT_SCHEDULE) */
  readonly driftSchedule?: events.Schedule;
  /** How long drift reports are kept. @default 400 days */
  readonly driftReportRetention?: Duration;
  /** The oldest a custom-label pin's version may be before the drift check flags it. @default 30 days */
  readonly driftMaxPinAge?: Duration;
  /** The oldest a static AWS key without rotation may be before the drift check flags it. @default 90 days */
  readonly driftMaxStaticKeyAge?: Duration;
  /** E-mail addresses subscribed to the alarm topic. @default none (subscribe to AlarmTopicArn yourself) */
  readonly alarmEmails?: string[];
  /**
   * Fence DB as the registry of record: the scheduled sync into the registry table, in the VPC
   * that reaches Fence DB. Imported by id, so synth needs no AWS lookups. @default none: no sync
   */
  readonly registrySync?: RegistrySyncSettings;
  /**
   * The instruction set of every function. Tests synthesize x86_64 to run the deployed bundles in
   * Lambda containers on an x86_64 host; nothing else differs. @default arm64
   */
  readonly lambdaArchitecture?: lambda.Architecture;
  /**
   * Where the functions' own calls to buckets' stores may go (SSRF): admin, presign, drift
   * check and rotation get the same policy. @default https to public addresses only
   */
  readonly storeEndpoints?: StoreEndpointSettings;
}

export interface RegistrySyncSettings {
  /** Full ARN of the secret holding Fence DB's connection (outside the secrets prefix). */
  readonly fenceDbSecretArn: string;
  readonly vpcId: string;
  /** Subnets (private, with a route to Fence DB, DynamoDB and Secrets Manager) for the function. */
  readonly subnetIds: string[];
  /** @default a new security group with outbound access only */
  readonly securityGroupIds?: string[];
  /** Fence DB's own security group: the admin function may connect only there (and to HTTPS). */
  readonly databaseSecurityGroupId?: string;
  /** Fence DB's port. @default 5432 */
  readonly databasePort?: number;
  /** @default every 5 minutes */
  readonly schedule?: events.Schedule;
}

/** The broker's stack. It only composes constructs; resources live in `lib/constructs`. */
export class FenceBucketBrokerStack extends Stack {
  readonly registry: BucketRegistryTable;
  readonly presignApi: PresignApi;
  /** Present when the stack is given admin principals. */
  readonly adminApi?: AdminApi;
  /** Present when the stack is given MinIO admin secrets. */
  readonly rotation?: MinioKeyRotation;
  /** Present when the stack is given the rotated IAM users' path. */
  readonly iamKeyRotation?: IamKeyRotation;
  /** Present when the stack is given Fence DB's secret. */
  readonly registrySync?: RegistrySync;
  readonly driftCheck: ScheduledDriftCheck;
  readonly monitoring: BrokerMonitoring;

  constructor(scope: Construct, id: string, props: FenceBucketBrokerStackProps) {
    super(scope, id, props);
    const maxUrlLifetime = props.maxUrlLifetime?.toSeconds();
    if (maxUrlLifetime !== undefined && maxUrlLifetime > SIGV4_MAX_EXPIRES_IN) {
      throw new Error(
        `maxUrlLifetimeSeconds ${maxUrlLifetime} is above 604800 (7 days), the longest a SigV4 URL can live`,
      );
    }
    const withAdmin = (props.adminRoleArns ?? []).length > 0;
    const secretsAccess = lambdaSecretsAccess(
      props.lambdaSecrets,
      withAdmin ? ['presign', 'admin', 'drift'] : ['presign', 'drift'],
    );
    this.registry = new BucketRegistryTable(this, 'Registry', props.registry);
    this.presignApi = new PresignApi(this, 'Presign', {
      registry: this.registry,
      invokerPrincipalArns: props.fenceRoleArns,
      assumableRoleArns: props.assumableRoleArns,
      secretsPrefix: props.secretsPrefix,
      secretsAccess,
      throttlingRateLimit: props.presignThrottle?.rateLimit,
      throttlingBurstLimit: props.presignThrottle?.burstLimit,
      reservedConcurrency: props.presignReservedConcurrency,
      maxUrlLifetime: props.maxUrlLifetime,
      lambdaArchitecture: props.lambdaArchitecture,
      storeEndpoints: props.storeEndpoints,
    });
    // Fence DB's network, shared by the sync and (with Fence DB as the registry of record) the admin API.
    const fenceDb = props.registrySync === undefined ? undefined : this.fenceDbNetwork(props.registrySync);
    if (withAdmin) {
      this.adminApi = new AdminApi(this, 'Admin', {
        api: this.presignApi.api,
        registry: this.registry,
        adminPrincipalArns: props.adminRoleArns ?? [],
        assumableRoleArns: props.assumableRoleArns,
        secretsPrefix: props.secretsPrefix,
        secretsAccess,
        reservedConcurrency: props.adminReservedConcurrency,
        maxUrlLifetime: props.maxUrlLifetime,
        lambdaArchitecture: props.lambdaArchitecture,
        storeEndpoints: props.storeEndpoints,
        ...(fenceDb === undefined ? {} : { fenceDb }),
      });
    }
    const adminSecretArns = props.minioAdminSecretArns ?? [];
    const rotated = props.rotatedMinioSecrets ?? [];
    if (rotated.length > 0 && adminSecretArns.length === 0) {
      throw new Error(
        'rotatedMinioSecrets needs minioAdminSecretArns: rotation reads only the MinIO admin secrets it is given (-c minioAdminSecretArns=arn:...:secret:gen3/fence/admin/minio/...)',
      );
    }
    if (adminSecretArns.length > 0) {
      const rotation = new MinioKeyRotation(this, 'MinioKeyRotation', {
        secretsPrefix: props.secretsPrefix,
        adminSecretArns,
        registry: this.registry,
        reservedConcurrency: props.rotationReservedConcurrency,
        lambdaArchitecture: props.lambdaArchitecture,
        storeEndpoints: props.storeEndpoints,
      });
      for (const [index, name] of rotated.entries()) {
        const secret = secretsmanager.Secret.fromSecretNameV2(this, `RotatedSecret${index}`, name);
        rotation.rotate(
          `Rotation${index}`,
          secret,
          props.rotationInterval ?? Duration.days(DEFAULT_ROTATION_DAYS),
          {
            maxUrlLifetime: props.maxUrlLifetime ?? Duration.hours(1),
          },
        );
      }
      new CfnOutput(this, 'MinioRotationFunctionArn', {
        value: rotation.function.functionArn,
        description: 'Rotation Lambda to name in Secrets Manager for MinIO secrets',
      });
      this.rotation = rotation;
    }
    if (props.rotatedIamUserPath !== undefined) {
      this.iamKeyRotation = new IamKeyRotation(this, 'IamKeyRotation', {
        rotatedUserPath: props.rotatedIamUserPath,
        secretsPrefix: props.secretsPrefix,
        registry: this.registry,
        reservedConcurrency: props.rotationReservedConcurrency,
        lambdaArchitecture: props.lambdaArchitecture,
        storeEndpoints: props.storeEndpoints,
      });
      new CfnOutput(this, 'IamKeyRotationFunctionArn', {
        value: this.iamKeyRotation.function.functionArn,
        description:
          'Rotation Lambda for IAM user-key secrets (fence-buckets migrate --enable-rotation --rotation-function-arn …)',
      });
    }
    if (props.registrySync !== undefined && fenceDb !== undefined) {
      this.registrySync = new RegistrySync(this, 'RegistrySync', {
        registry: this.registry,
        fenceDbSecretArn: fenceDb.secretArn,
        vpc: fenceDb.vpc,
        vpcSubnets: fenceDb.vpcSubnets,
        securityGroups: fenceDb.securityGroups,
        schedule: props.registrySync.schedule,
        secretsPrefix: props.secretsPrefix,
        reservedConcurrency: props.syncReservedConcurrency,
        maxUrlLifetime: props.maxUrlLifetime,
        storeEndpoints: props.storeEndpoints,
        lambdaArchitecture: props.lambdaArchitecture,
      });
      new CfnOutput(this, 'RegistrySyncFunctionName', {
        value: this.registrySync.function.functionName,
        description: 'Sync Lambda (Fence DB → registry table); invoke it to sync now',
      });
    }
    this.driftCheck = new ScheduledDriftCheck(this, 'DriftCheck', {
      registry: this.registry,
      secretsPrefix: props.secretsPrefix,
      secretsAccess,
      assumableRoleArns: props.assumableRoleArns,
      adminSecretArns,
      schedule: props.driftSchedule,
      reportRetention: props.driftReportRetention,
      reportReaderArns: props.adminRoleArns,
      maxPinAge: props.driftMaxPinAge,
      maxStaticKeyAge: props.driftMaxStaticKeyAge,
      reservedConcurrency: props.driftReservedConcurrency,
      lambdaArchitecture: props.lambdaArchitecture,
      storeEndpoints: props.storeEndpoints,
    });
    this.monitoring = new BrokerMonitoring(this, 'Monitoring', {
      presignFunction: this.presignApi.function,
      driftCheckFunction: this.driftCheck.function,
      rotationFunction: this.rotation?.function,
      iamKeyRotationFunction: this.iamKeyRotation?.function,
      syncFunction: this.registrySync?.function,
      alarmEmails: props.alarmEmails,
    });
    this.identityOutputs(secretsAccess);
    new CfnOutput(this, 'DriftReportBucketName', {
      value: this.driftCheck.reports.bucketName,
      description: 'S3 bucket of the drift reports (fence-buckets drift-check --last --report-bucket …)',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.topic.topicArn,
      description: 'SNS topic of the alarms: subscribe operators to it',
    });
    new CfnOutput(this, 'PresignApiUrl', {
      value: this.presignApi.url,
      description: 'Base URL of the presign API',
    });
    new CfnOutput(this, 'RegistryTableName', {
      value: this.registry.tableName,
      description: 'DynamoDB table of the bucket registry (mirror of Fence DB)',
    });
  }

  /**
   * Each function's identity on Vault and Google, one output per function: the execution role to
   * bind to that function's own Vault role, and the role (and service account) its Google
   * identity federates from. One list for all would invite one binding for all.
   */
  private identityOutputs(secretsAccess: LambdaSecretsAccess): void {
    const functions: [SecretsFunction, string, lambda.IFunction | undefined][] = [
      ['presign', 'Presign', this.presignApi.function],
      ['admin', 'Admin', this.adminApi?.function],
      ['drift', 'DriftCheck', this.driftCheck.function],
    ];
    for (const [fn, name, deployed] of functions) {
      if (deployed?.role === undefined) continue;
      const vaultRole = secretsAccess.identities[fn].VAULT_ROLE;
      if (secretsAccess.vault && vaultRole !== undefined) {
        new CfnOutput(this, `Vault${name}BoundRoleArn`, {
          value: deployed.role.roleArn,
          description: `Execution role of the ${fn} function: the bound_iam_principal_arn of its own Vault role ${vaultRole} (README, 'Vault from Lambda')`,
        });
      }
      if (secretsAccess.google !== undefined) {
        const account = secretsAccess.google.serviceAccounts[fn];
        new CfnOutput(this, `Google${name}FederatedRoleArn`, {
          value: deployed.role.roleArn,
          description: `Execution role the ${fn} function federates to Google from${account === undefined ? ' (its own federated principal)' : `, impersonating ${account} (grant it roles/iam.workloadIdentityUser on that account)`} (README, 'GCP from Lambda')`,
        });
      }
    }
  }

  /** Fence DB's secret and the VPC that reaches it, imported from ids alone (no lookup at synth). */
  private fenceDbNetwork(settings: RegistrySyncSettings): FenceDbAccess {
    if (settings.subnetIds.length === 0) {
      throw new Error(
        'fenceDbSecretArn needs vpcSubnetIds: the subnets the sync runs in (-c vpcSubnetIds=subnet-a,subnet-b)',
      );
    }
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'FenceDbVpc', {
      vpcId: settings.vpcId,
      availabilityZones: Fn.getAzs(),
    });
    Validations.of(vpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      reason: 'Only the functions that reach Fence DB use this VPC, and they name their subnets by id.',
    });
    const subnets = settings.subnetIds.map((subnetId, index) => {
      const subnet = ec2.Subnet.fromSubnetId(this, `FenceDbSubnet${index}`, subnetId);
      Validations.of(subnet).acknowledge({
        id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: 'Nothing here adds routes; the subnet is only where the functions run.',
      });
      return subnet;
    });
    return {
      secretArn: settings.fenceDbSecretArn,
      vpc,
      vpcSubnets: { subnets },
      ...(settings.databasePort === undefined ? {} : { port: settings.databasePort }),
      ...(settings.databaseSecurityGroupId === undefined
        ? {}
        : {
            databaseSecurityGroup: ec2.SecurityGroup.fromSecurityGroupId(
              this,
              'FenceDbDatabaseSecurityGroup',
              settings.databaseSecurityGroupId,
            ),
          }),
      ...(settings.securityGroupIds === undefined
        ? {}
        : {
            securityGroups: settings.securityGroupIds.map((groupId, index) =>
              ec2.SecurityGroup.fromSecurityGroupId(this, `FenceDbSecurityGroup${index}`, groupId),
            ),
          }),
    };
  }
}
