import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BucketRegistryTable, type BucketRegistryTableProps } from '../constructs/bucket-registry-table';

export interface FenceBucketBrokerStackProps extends StackProps {
  /** Settings of the registry table. @default see BucketRegistryTableProps */
  readonly registry?: BucketRegistryTableProps;
}

/** The broker's stack. It only composes constructs; resources live in `lib/constructs`. */
export class FenceBucketBrokerStack extends Stack {
  readonly registry: BucketRegistryTable;

  constructor(scope: Construct, id: string, props: FenceBucketBrokerStackProps = {}) {
    super(scope, id, props);
    this.registry = new BucketRegistryTable(this, 'Registry', props.registry);
    new CfnOutput(this, 'RegistryTableName', {
      value: this.registry.tableName,
      description: 'DynamoDB table of the bucket registry (mirror of Fence DB)',
    });
  }
}
