import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { awsId, type ContextSettings, readContext } from './config/context-keys';
import { IDENTITY_CONTEXT, type SecretsFunction } from './constructs/lambda-secrets-access';
import { FenceBucketBrokerStack, type RegistrySyncSettings } from './stacks/fence-bucket-broker-stack';

/**
 * Builds the CDK app from context (`cdk.json` or `-c key=value`). Shared by `bin/app.ts` and the
 * infra tests, so the tests check exactly what `cdk synth` produces. Needs no AWS credentials:
 * without CDK_DEFAULT_ACCOUNT the stack is environment-agnostic. Every key is read through the
 * table of `config/context-keys.ts`, which the generated reference is written from.
 */
export function buildApp(props: AppProps = {}): { app: App; stack: FenceBucketBrokerStack } {
  const app = new App(props);
  const context = readContext((key) => app.node.tryGetContext(key), Object.keys(app.node.getAllContext()));
  const stack = new FenceBucketBrokerStack(app, context.stackName, {
    env:
      process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
        ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
        : undefined,
    description:
      'fence-bucket-broker: presigned URLs for registered buckets, credentials in a secrets manager',
    fenceRoleArns: context.fenceRoleArns,
    adminRoleArns: context.adminRoleArns,
    assumableRoleArns: context.assumableRoleArns,
    secretsPrefix: context.secretsPrefix,
    lambdaSecrets: {
      backends: context.secretsBackends,
      gcpExternalAccountFile: context.gcpExternalAccountFile,
      gcpServiceAccounts: perFunction(IDENTITY_CONTEXT.gcp, context),
      gcpSecretManagerProject: context.gcpSecretManagerProject,
      gcpRequesterPaysProject: context.gcpRequesterPaysProject,
      vault: {
        address: context.vaultAddr,
        roles: perFunction(IDENTITY_CONTEXT.vault, context),
        awsAuthMount: context.vaultAwsAuthMount,
        iamServerId: context.vaultIamServerId,
        stsRegion: context.vaultStsRegion,
        namespace: context.vaultNamespace,
        kvMount: context.vaultKvMount,
        caCertFile: context.vaultCaCertFile,
      },
    },
    minioAdminSecretArns: context.minioAdminSecretArns,
    rotatedMinioSecrets: context.rotatedMinioSecrets,
    rotationInterval: context.rotationDays,
    rotatedIamUserPath: context.rotatedIamUserPath,
    maxUrlLifetime: context.maxUrlLifetimeSeconds,
    presignThrottle: {
      rateLimit: context.presignThrottleRate,
      burstLimit: context.presignThrottleBurst,
    },
    presignReservedConcurrency: context.presignReservedConcurrency,
    rotationReservedConcurrency: context.rotationReservedConcurrency,
    adminReservedConcurrency: context.adminReservedConcurrency,
    syncReservedConcurrency: context.syncReservedConcurrency,
    driftReservedConcurrency: context.driftReservedConcurrency,
    registrySync: registrySync(context),
    driftSchedule: context.driftSchedule,
    driftReportRetention: context.driftReportRetentionDays,
    driftMaxPinAge: context.driftMaxPinAgeDays,
    driftMaxStaticKeyAge: context.driftMaxStaticKeyAgeDays,
    alarmEmails: context.alarmEmails,
    registry: {
      removalPolicy: context.registryRemovalPolicy,
      deletionProtection: context.registryDeletionProtection,
    },
    lambdaArchitecture: context.lambdaArchitecture,
    storeEndpoints: {
      allowHttp: context.storeEndpointAllowHttp,
      allowedNetworks: context.storeEndpointAllowedNetworks,
    },
  });
  // AWS Solutions checks run at every synth; each acknowledgement sits on its construct with a reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/**
 * The sync from Fence DB, when `fenceDbSecretArn` is given: in the VPC of `vpcId` and
 * `vpcSubnetIds` (required), with Fence DB's own security group and port, the only place besides
 * HTTPS the admin function may connect to.
 */
function registrySync(context: ContextSettings): RegistrySyncSettings | undefined {
  const secretArn = context.fenceDbSecretArn;
  if (secretArn === undefined) return undefined;
  const vpcId = context.vpcId;
  if (vpcId === undefined || !awsId('vpc', vpcId) || context.vpcSubnetIds.length === 0) {
    throw new Error(
      'fenceDbSecretArn needs the VPC that reaches Fence DB: -c vpcId=vpc-… -c vpcSubnetIds=subnet-…,subnet-…',
    );
  }
  return {
    fenceDbSecretArn: secretArn,
    vpcId,
    subnetIds: context.vpcSubnetIds,
    ...(context.vpcSecurityGroupIds.length > 0 ? { securityGroupIds: context.vpcSecurityGroupIds } : {}),
    ...(context.fenceDbSecurityGroupId === undefined
      ? {}
      : { databaseSecurityGroupId: context.fenceDbSecurityGroupId }),
    databasePort: context.fenceDbPort,
    schedule: context.syncSchedule,
  };
}

/** One context string per secrets function, from the keys that name them. */
function perFunction(
  keys: Readonly<Record<SecretsFunction, keyof ContextSettings>>,
  context: ContextSettings,
): Partial<Record<SecretsFunction, string>> {
  return Object.fromEntries(
    Object.entries(keys).flatMap(([fn, key]) => {
      const value = context[key];
      return typeof value === 'string' ? [[fn, value]] : [];
    }),
  );
}
