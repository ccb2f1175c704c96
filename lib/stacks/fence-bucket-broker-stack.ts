import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BucketRegistryTable, type BucketRegistryTableProps } from '../constructs/bucket-registry-table';
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
}

/** The broker's stack. It only composes constructs; resources live in `lib/constructs`. */
export class FenceBucketBrokerStack extends Stack {
  readonly registry: BucketRegistryTable;
  readonly presignApi: PresignApi;

  constructor(scope: Construct, id: string, props: FenceBucketBrokerStackProps) {
    super(scope, id, props);
    this.registry = new BucketRegistryTable(this, 'Registry', props.registry);
    this.presignApi = new PresignApi(this, 'Presign', {
      registry: this.registry,
      invokerPrincipalArns: props.fenceRoleArns,
      assumableRoleArns: props.assumableRoleArns,
      secretsPrefix: props.secretsPrefix,
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
