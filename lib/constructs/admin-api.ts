import * as path from 'node:path';
import { CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ADMIN_ROUTES } from '../../functions/admin/admin-api';
import { AdminEnvironmentSchema } from '../../functions/admin/environment';
import { ADMIN_MATRIX, API_ROUTE_ACCESS } from '../iam/iam-matrix';
import { addMatrixRules } from '../iam/matrix-statement';
import { routeAccessStatements } from '../iam/route-access';
import { BrokerFunction, RDS_CA_BUNDLE, reservedOrNone } from './broker-function';
import type { BucketRegistryTable } from './bucket-registry-table';
import type { LambdaSecretsAccess } from './lambda-secrets-access';
import { type StoreEndpointSettings, storeEndpointEnvironment } from './store-endpoint-settings';

/** Fence DB, the registry of record: its connection secret and the network that reaches it. */
export interface FenceDbAccess {
  /** The connection secret (an RDS database secret or `{"url": …}`), a full ARN. */
  readonly secretArn: string;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Fence DB's own security group: the admin function's group may reach it on `port` (and it is
   * told to admit the admin function). @default none: the port is open towards any address
   */
  readonly databaseSecurityGroup?: ec2.ISecurityGroup;
  /** Fence DB's port. @default 5432 */
  readonly port?: number;
}

export interface AdminApiProps {
  /** The REST API to add the admin routes to (the presign API's: one URL, one resource policy). */
  readonly api: apigw.RestApi;
  readonly registry: BucketRegistryTable;
  /**
   * Principals (the operators' admin roles) allowed to call the admin routes; the resource policy
   * explicitly denies every other principal, and the handler checks the caller itself.
   */
  readonly adminPrincipalArns: string[];
  /** Secrets are created and read under this prefix only. @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /** Secrets backends and Google identity of the function. @default aws_sm only */
  readonly secretsAccess?: LambdaSecretsAccess;
  /** Role ARNs that role-mode buckets name; registrations are proven by assuming them. @default none */
  readonly assumableRoleArns?: string[];
  /**
   * With Fence DB as the registry of record: admin writes go there first, then to the table
   * (`REGISTRY_SOURCE=postgres`); the function runs in Fence DB's VPC (which must also reach
   * Secrets Manager, STS, DynamoDB and the buckets' stores: NAT or VPC endpoints).
   * @default none: the table is the registry
   */
  readonly fenceDb?: FenceDbAccess;
  /**
   * Concurrent executions reserved for the admin function: its cap more than its share. Admin
   * calls are a person or a script; a runaway loop of them (or of a stolen admin session) then
   * cannot take the account's pool from presign and rotation, nor open more than this many
   * connection pools on Fence DB. 0: no reservation. @default 5
   */
  readonly reservedConcurrency?: number;
  /**
   * The deployment's cap on any bucket's URL lifetime (`max_expires_in`), at most 7 days.
   * @default Duration.hours(1)
   */
  readonly maxUrlLifetime?: Duration;
  /** The instruction set of the function (BrokerFunctionProps.architecture). @default arm64 */
  readonly lambdaArchitecture?: lambda.Architecture;
  /** Where the function's own calls to stores may go (SSRF). @default https to public addresses only */
  readonly storeEndpoints?: StoreEndpointSettings;
}

/**
 * The admin Lambda and its routes under `/v1/admin/` (DESIGN.md "Admin API and CLI"), with the
 * admin role of DESIGN.md's IAM split, built from `ADMIN_MATRIX`.
 */
export class AdminApi extends Construct {
  readonly function: BrokerFunction<typeof AdminEnvironmentSchema>;
  /** The function's own security group, in Fence DB's VPC (absent without Fence DB). */
  securityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: AdminApiProps) {
    super(scope, id);
    if (props.adminPrincipalArns.length === 0) {
      throw new Error('AdminApi needs at least one admin principal; pass -c adminRoleArns=...');
    }
    const prefix = props.secretsPrefix ?? 'gen3/fence/';
    this.function = new BrokerFunction(this, 'Function', {
      architecture: props.lambdaArchitecture,
      entry: path.join(__dirname, '../../functions/admin/handler.ts'),
      description: 'Registers and manages buckets and their secrets (fence-bucket-broker admin API)',
      environmentSchema: AdminEnvironmentSchema,
      environment: {
        REGISTRY_TABLE_NAME: props.registry.tableName,
        FENCE_SECRETS_BACKEND: 'aws_sm',
        ...props.secretsAccess?.environment,
        // Its own Vault role and Google service account: no other function shares them.
        ...props.secretsAccess?.identities.admin,
        GCP_SECRET_MANAGER_PROJECT: props.secretsAccess?.gcpSecretManagerProject,
        FENCE_SECRETS_PREFIX: prefix,
        MAX_URL_LIFETIME_SECONDS: String((props.maxUrlLifetime ?? Duration.hours(1)).toSeconds()),
        ADMIN_PRINCIPAL_ARNS: props.adminPrincipalArns.join(','),
        ...storeEndpointEnvironment(props.storeEndpoints),
        ...(props.fenceDb === undefined
          ? {}
          : {
              REGISTRY_SOURCE: 'postgres' as const,
              FENCE_DB_SECRET_ARN: props.fenceDb.secretArn,
              FENCE_DB_SSL: 'verify' as const,
              NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE,
            }),
      },
      ...(props.fenceDb === undefined
        ? {}
        : {
            vpc: props.fenceDb.vpc,
            vpcSubnets: props.fenceDb.vpcSubnets,
            securityGroups: [this.fenceDbEgress(props.fenceDb)],
          }),
      bundledFiles: props.secretsAccess?.bundledFiles,
      // A registration proves credentials on the bucket (AssumeRole, a store round trip): seconds, not ms.
      timeout: Duration.seconds(29),
      reservedConcurrentExecutions: reservedOrNone(props.reservedConcurrency ?? 5),
    });
    if (this.securityGroup !== undefined) {
      new CfnOutput(this, 'SecurityGroupId', {
        value: this.securityGroup.securityGroupId,
        description: "The admin function's security group: Fence DB's group must admit it on Fence DB's port",
      });
    }
    const role = this.function.role as iam.Role;
    addMatrixRules(role, Object.values(ADMIN_MATRIX.rules), {
      prefix,
      registryTable: props.registry.table.tableArn,
      assumableRoles: props.assumableRoleArns ?? [],
      fenceDbSecret: props.fenceDb === undefined ? [] : [props.fenceDb.secretArn],
    });
    for (const statement of routeAccessStatements(
      API_ROUTE_ACCESS.admin.resourcePath,
      props.adminPrincipalArns,
    )) {
      props.api.addToResourcePolicy(statement);
    }
    // As for the presign routes: no test invocation, permissions per method and deployed stage.
    const integration = new apigw.LambdaIntegration(this.function, { allowTestInvoke: false });
    const admin =
      props.api.root.getResource('v1')?.addResource('admin') ??
      props.api.root.addResource('v1').addResource('admin');
    for (const route of ADMIN_ROUTES) {
      let resource: apigw.IResource = admin;
      for (const part of route.path.split('/'))
        resource = resource.getResource(part) ?? resource.addResource(part);
      resource.addMethod(route.method, integration);
    }

    const policy = role.node.findChild('DefaultPolicy');
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason: 'Secrets may use any customer key (kms_key_ref); kms:ViaService limits use to Secrets Manager.',
    });
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason: 'Bucket secrets are created and registered at run time, under the broker prefix only.',
    });
  }

  /**
   * The admin function's network in Fence DB's VPC. It calls whatever endpoint an admin registers
   * (SSRF), so its group lets out only HTTPS (AWS APIs, secrets backends, stores) and Fence DB's
   * port, towards Fence DB's own group when it is known; never the operator's groups, which may
   * allow everything out.
   */
  private fenceDbEgress(fenceDb: FenceDbAccess): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: fenceDb.vpc,
      description: 'fence-bucket-broker admin function: HTTPS and Fence DB only',
      allowAllOutbound: false,
      allowAllIpv6Outbound: false,
    });
    group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: AWS APIs, secrets backends, stores');
    group.addEgressRule(ec2.Peer.anyIpv6(), ec2.Port.tcp(443), 'HTTPS: AWS APIs, secrets backends, stores');
    const port = ec2.Port.tcp(fenceDb.port ?? 5432);
    if (fenceDb.databaseSecurityGroup === undefined) {
      group.addEgressRule(ec2.Peer.anyIpv4(), port, 'Fence DB (its security group was not given)');
    } else {
      group.connections.allowTo(fenceDb.databaseSecurityGroup, port, 'Fence DB');
    }
    this.securityGroup = group;
    return group;
  }
}
