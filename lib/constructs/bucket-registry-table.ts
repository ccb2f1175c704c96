import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { REGISTRY_TABLE_KEYS } from '../../functions/shared/registry/dynamodb-bucket-registry';

export interface BucketRegistryTableProps {
  /** @default RemovalPolicy.RETAIN: the registry outlives the stack unless the operator says otherwise */
  readonly removalPolicy?: RemovalPolicy;
  /** @default true */
  readonly deletionProtection?: boolean;
  /** @default true */
  readonly pointInTimeRecovery?: boolean;
  /** Customer-managed key for the table. @default the AWS-owned DynamoDB key */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The bucket registry table (the DynamoDB mirror of Fence DB): on-demand, keyed by bucket name
 * for the one-read presign lookup, with an `id` index for the admin routes. What each role may do
 * with it is stated in `lib/iam/iam-matrix.ts` (the presign role: one `GetItem` on the table, no
 * index).
 */
export class BucketRegistryTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: BucketRegistryTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: REGISTRY_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      encryption: props.encryptionKey
        ? dynamodb.TableEncryption.CUSTOMER_MANAGED
        : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: REGISTRY_TABLE_KEYS.idIndexName,
      partitionKey: { name: REGISTRY_TABLE_KEYS.idIndexKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /** Reads for the drift check: every record, but no writes. */
  grantScan(grantee: iam.IGrantable): iam.Grant {
    return this.table.grant(grantee, 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:Query');
  }

  /** Admin flows and the sync job: read and conditional writes; deletes are not granted. */
  grantAdmin(grantee: iam.IGrantable): iam.Grant {
    return this.table.grant(
      grantee,
      'dynamodb:GetItem',
      'dynamodb:Scan',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:ConditionCheckItem',
    );
  }
}
