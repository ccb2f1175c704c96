import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { BucketRegistryTable, type BucketRegistryTableProps } from '../constructs/bucket-registry-table';
import { MinioKeyRotation } from '../constructs/minio-key-rotation';
import { PresignApi } from '../constructs/presign-api';

export interface FenceBucketBrokerStackProps extends StackProps {
  /** Settings of the registry table. @default see BucketRegistryTableProps */
  readonly registry?: BucketRegistryTableProps;
  /** Principals allowed to call the presign API (Fence's role ARNs). */
  readonly fenceRoleArns: string[];
  /** Roles that role-mode buckets name. @default none */
  readonly assumableRoleArns?: string[];
  /** @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /** MinIO admin credential secrets outside the prefix that rotation may read. @default none */
  readonly minioAdminSecretArns?: string[];
  /** Names of MinIO secrets to rotate on a schedule. @default none */
  readonly rotatedMinioSecrets?: string[];
  /** @default 30 days */
  readonly rotationInterval?: Duration;
  /** The longest URL lifetime of any bucket using a rotated secret. @default 1 hour */
  readonly maxUrlLifetime?: Duration;
}

/** The broker's stack. It only composes constructs; resources live in `lib/constructs`. */
export class FenceBucketBrokerStack extends Stack {
  readonly registry: BucketRegistryTable;
  readonly presignApi: PresignApi;
  readonly rotation: MinioKeyRotation;

  constructor(scope: Construct, id: string, props: FenceBucketBrokerStackProps) {
    super(scope, id, props);
    this.registry = new BucketRegistryTable(this, 'Registry', props.registry);
    this.presignApi = new PresignApi(this, 'Presign', {
      registry: this.registry,
      invokerPrincipalArns: props.fenceRoleArns,
      assumableRoleArns: props.assumableRoleArns,
      secretsPrefix: props.secretsPrefix,
    });
    this.rotation = new MinioKeyRotation(this, 'MinioKeyRotation', {
      secretsPrefix: props.secretsPrefix,
      adminSecretArns: props.minioAdminSecretArns,
      registry: this.registry,
    });
    for (const [index, name] of (props.rotatedMinioSecrets ?? []).entries()) {
      const secret = secretsmanager.Secret.fromSecretNameV2(this, `RotatedSecret${index}`, name);
      this.rotation.rotate(`Rotation${index}`, secret, props.rotationInterval ?? Duration.days(30), {
        maxUrlLifetime: props.maxUrlLifetime ?? Duration.hours(1),
      });
    }
    new CfnOutput(this, 'MinioRotationFunctionArn', {
      value: this.rotation.function.functionArn,
      description: 'Rotation Lambda to name in Secrets Manager for MinIO secrets',
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
}
