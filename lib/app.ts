import { App, type AppProps, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { allowedNetworkProblem } from '../functions/shared/network/store-endpoint-policy';
import { SECRETS_BACKENDS, type SecretsBackend } from '../functions/shared/registry/bucket-record';
import { IDENTITY_CONTEXT, type SecretsFunction } from './constructs/lambda-secrets-access';
import type { StoreEndpointSettings } from './constructs/store-endpoint-settings';
import { FenceBucketBrokerStack, type RegistrySyncSettings } from './stacks/fence-bucket-broker-stack';

/**
 * Builds the CDK app from context (`cdk.json` or `-c key=value`). Shared by `bin/app.ts` and the
 * infra tests, so the tests check exactly what `cdk synth` produces. Needs no AWS credentials:
 * without CDK_DEFAULT_ACCOUNT the stack is environment-agnostic.
 */
export function buildApp(props: AppProps = {}): { app: App; stack: FenceBucketBrokerStack } {
  const app = new App(props);
  const context = (key: string): unknown => app.node.tryGetContext(key);
  if (context('vaultAwsAuthRole') !== undefined) {
    throw new Error(
      `context vaultAwsAuthRole (one Vault role for every function) is replaced by one role per function, so presign can never write: -c ${Object.values(IDENTITY_CONTEXT.vault).join('=… -c ')}=… (README, "Vault from Lambda")`,
    );
  }
  const stack = new FenceBucketBrokerStack(app, String(context('stackName') ?? 'FenceBucketBroker'), {
    env:
      process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
        ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
        : undefined,
    description:
      'fence-bucket-broker: presigned URLs for registered buckets, credentials in a secrets manager',
    fenceRoleArns: roleArns('fenceRoleArns', context('fenceRoleArns')),
    adminRoleArns: roleArns('adminRoleArns', context('adminRoleArns')),
    assumableRoleArns: list(context('assumableRoleArns')),
    secretsPrefix: secretsPrefix(context('secretsPrefix')),
    lambdaSecrets: {
      backends: secretsBackends(context('secretsBackends')),
      gcpExternalAccountFile: optionalText(context('gcpExternalAccountFile')),
      gcpServiceAccounts: perFunction(IDENTITY_CONTEXT.gcp, context),
      gcpSecretManagerProject: optionalText(context('gcpSecretManagerProject')),
      gcpRequesterPaysProject: optionalText(context('gcpRequesterPaysProject')),
      vault: {
        address: optionalText(context('vaultAddr')),
        roles: perFunction(IDENTITY_CONTEXT.vault, context),
        awsAuthMount: optionalText(context('vaultAwsAuthMount')),
        iamServerId: optionalText(context('vaultIamServerId')),
        stsRegion: optionalText(context('vaultStsRegion')),
        namespace: optionalText(context('vaultNamespace')),
        kvMount: optionalText(context('vaultKvMount')),
        caCertFile: optionalText(context('vaultCaCertFile')),
      },
    },
    minioAdminSecretArns: list(context('minioAdminSecretArns')),
    rotatedMinioSecrets: list(context('rotatedMinioSecrets')),
    rotationInterval: optionalDuration(count('rotationDays', context('rotationDays'), 1), Duration.days),
    maxUrlLifetime: optionalDuration(
      count('maxUrlLifetimeSeconds', context('maxUrlLifetimeSeconds'), 1),
      Duration.seconds,
    ),
    presignThrottle: {
      rateLimit: positiveNumber('presignThrottleRate', context('presignThrottleRate')),
      burstLimit: count('presignThrottleBurst', context('presignThrottleBurst'), 1),
    },
    presignReservedConcurrency: reservation(
      'presignReservedConcurrency',
      context('presignReservedConcurrency'),
    ),
    rotationReservedConcurrency: reservation(
      'rotationReservedConcurrency',
      context('rotationReservedConcurrency'),
    ),
    adminReservedConcurrency: reservation('adminReservedConcurrency', context('adminReservedConcurrency')),
    syncReservedConcurrency: reservation('syncReservedConcurrency', context('syncReservedConcurrency')),
    driftReservedConcurrency: reservation('driftReservedConcurrency', context('driftReservedConcurrency')),
    registrySync: registrySync(context),
    driftSchedule: schedule('driftSchedule', context('driftSchedule')),
    driftReportRetention: optionalDuration(
      count('driftReportRetentionDays', context('driftReportRetentionDays'), 1),
      Duration.days,
    ),
    driftMaxPinAge: optionalDuration(
      count('driftMaxPinAgeDays', context('driftMaxPinAgeDays'), 1),
      Duration.days,
    ),
    alarmEmails: list(context('alarmEmails')),
    registry: {
      removalPolicy:
        context('registryRemovalPolicy') === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      deletionProtection:
        context('registryDeletionProtection') !== 'false' && context('registryDeletionProtection') !== false,
    },
    lambdaArchitecture: lambdaArchitecture(context('lambdaArchitecture')),
    storeEndpoints: storeEndpoints(
      context('storeEndpointAllowHttp'),
      context('storeEndpointAllowedNetworks'),
    ),
  });
  // AWS Solutions checks run at every synth; each acknowledgement sits on its construct with a reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/**
 * The sync from Fence DB, when `fenceDbSecretArn` is given: with `vpcId` and `vpcSubnetIds`
 * (required), `vpcSecurityGroupIds`, `syncSchedule` (an EventBridge `rate(…)` or `cron(…)`
 * expression, or a whole number of minutes), and Fence DB's own `fenceDbSecurityGroupId` and
 * `fenceDbPort` (default 5432), the only place besides HTTPS the admin function may connect to.
 */
function registrySync(context: (key: string) => unknown): RegistrySyncSettings | undefined {
  const secretArn = context('fenceDbSecretArn');
  if (secretArn === undefined || secretArn === '') return undefined;
  const vpcId = context('vpcId');
  const subnetIds = list(context('vpcSubnetIds'));
  if (typeof vpcId !== 'string' || !awsId('vpc', vpcId) || subnetIds.length === 0) {
    throw new Error(
      'fenceDbSecretArn needs the VPC that reaches Fence DB: -c vpcId=vpc-… -c vpcSubnetIds=subnet-…,subnet-…',
    );
  }
  const securityGroupIds = list(context('vpcSecurityGroupIds'));
  const databaseSecurityGroupId = optionalText(context('fenceDbSecurityGroupId'));
  for (const [key, prefix, ids] of [
    ['vpcSubnetIds', 'subnet', subnetIds],
    ['vpcSecurityGroupIds', 'sg', securityGroupIds],
    ['fenceDbSecurityGroupId', 'sg', databaseSecurityGroupId === undefined ? [] : [databaseSecurityGroupId]],
  ] as const) {
    const wrong = ids.find((id) => !awsId(prefix, id));
    if (wrong !== undefined)
      throw new Error(`context ${key}: ${JSON.stringify(wrong)} is not a ${prefix}-… id`);
  }
  return {
    fenceDbSecretArn: String(secretArn),
    vpcId,
    subnetIds,
    ...(securityGroupIds.length > 0 ? { securityGroupIds } : {}),
    ...(databaseSecurityGroupId === undefined ? {} : { databaseSecurityGroupId }),
    databasePort: port('fenceDbPort', context('fenceDbPort')),
    schedule: syncSchedule(context('syncSchedule')),
  };
}

/** A TCP port from context, or undefined when unset. */
function port(key: string, value: unknown): number | undefined {
  const number = count(key, value, 1);
  if (number !== undefined && number > 65_535) {
    throw new Error(`context ${key} must be a TCP port (1–65535), got ${JSON.stringify(value)}`);
  }
  return number;
}

/** An EC2 resource id: the prefix, then 8 or 17 hexadecimal characters. */
function awsId(prefix: string, value: string): boolean {
  return new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`).test(value);
}

function syncSchedule(value: unknown): events.Schedule | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (/^(rate|cron)\(.+\)$/.test(text)) return events.Schedule.expression(text);
  const minutes = Number(text);
  if (!Number.isInteger(minutes) || minutes < 1 || text === '') {
    throw new Error(
      `context syncSchedule must be rate(…), cron(…) or a whole number of minutes, got ${JSON.stringify(value)}`,
    );
  }
  return events.Schedule.rate(Duration.minutes(minutes));
}

/**
 * The store-endpoint policy (SSRF): `storeEndpointAllowHttp` (`true`/`false`) and
 * `storeEndpointAllowedNetworks` (host names and CIDRs, a JSON array or comma-separated). A bad
 * entry fails the synth, naming it, rather than leaving an allow-list the functions would refuse.
 */
function storeEndpoints(allowHttp: unknown, networks: unknown): StoreEndpointSettings {
  if (allowHttp !== undefined && !['true', 'false', true, false].includes(allowHttp as string | boolean)) {
    throw new Error(`context storeEndpointAllowHttp must be true or false, got ${JSON.stringify(allowHttp)}`);
  }
  const allowedNetworks = list(networks);
  for (const entry of allowedNetworks) {
    const problem = allowedNetworkProblem(entry);
    if (problem !== undefined) {
      throw new Error(`context storeEndpointAllowedNetworks: ${JSON.stringify(entry)} ${problem}`);
    }
  }
  return { allowHttp: allowHttp === true || allowHttp === 'true', allowedNetworks };
}

/** A context value given as a JSON array or a comma-separated string. */
function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value.trim() === '') return [];
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/**
 * Principals the API admits (`fenceRoleArns`, `adminRoleArns`): each a full IAM role ARN, as
 * `aws:PrincipalArn` shows an assumed role. A wildcard, an account or a root ARN would open the
 * API to every principal it matches (`*` to every account), so none is accepted.
 */
function roleArns(key: string, value: unknown): string[] {
  const arns = list(value);
  const wrong = arns.find(
    (arn) => !/^arn:aws(-[a-z]+)*:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]+$/.test(arn),
  );
  if (wrong !== undefined) {
    throw new Error(
      `context ${key}: ${JSON.stringify(wrong)} is not a full IAM role ARN (arn:aws:iam::<account>:role/<path/>name, no wildcard)`,
    );
  }
  return arns;
}

/**
 * `secretsPrefix`: a secret name prefix ending in `/`, Secrets Manager's name characters only.
 * Without the slash the admin sub-path's Deny (`<prefix>admin/*`) would miss (`gen3/fence` denies
 * `gen3/fenceadmin/*`), and a wildcard would grant every secret it matches.
 */
function secretsPrefix(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^[\w+=.@-][\w+=.@/-]*\/$/.test(text)) {
    throw new Error(
      `context secretsPrefix must be a secret name prefix ending in / (letters, digits and /_+=.@-, no wildcard), got ${JSON.stringify(value)}`,
    );
  }
  return text;
}

/** `secretsBackends`: names from SECRETS_BACKENDS (which of them a Lambda can use, the stack checks). */
function secretsBackends(value: unknown): SecretsBackend[] {
  const names = list(value);
  const unknown = names.find((name) => !(SECRETS_BACKENDS as readonly string[]).includes(name));
  if (unknown !== undefined) {
    throw new Error(
      `context secretsBackends: ${JSON.stringify(unknown)} is not a secrets backend (${SECRETS_BACKENDS.join(', ')})`,
    );
  }
  return names as SecretsBackend[];
}

/**
 * `lambdaArchitecture`: `arm64` (what deploys) or `x86_64` (for tests that run the deployed
 * bundles in Lambda containers on an x86_64 host).
 */
function lambdaArchitecture(value: unknown): lambda.Architecture | undefined {
  if (value === undefined) return undefined;
  const known = [lambda.Architecture.ARM_64, lambda.Architecture.X86_64];
  const architecture = known.find((candidate) => candidate.name === value);
  if (architecture === undefined) {
    throw new Error(
      `context lambdaArchitecture must be ${known.map((candidate) => candidate.name).join(' or ')}, got ${JSON.stringify(value)}`,
    );
  }
  return architecture;
}

/** One context string per secrets function, from the keys that name them. */
function perFunction(
  keys: Record<SecretsFunction, string>,
  context: (key: string) => unknown,
): Partial<Record<SecretsFunction, string>> {
  return Object.fromEntries(
    Object.entries(keys).flatMap(([fn, key]) => {
      const value = optionalText(context(key));
      return value === undefined ? [] : [[fn, value]];
    }),
  );
}

/** A context string, or undefined when unset or empty. */
function optionalText(value: unknown): string | undefined {
  return value === undefined || value === '' ? undefined : String(value);
}

/** An EventBridge schedule from context: `cron(…)` (six fields) or `rate(N minute(s)|hour(s)|day(s))`. */
function schedule(key: string, value: unknown): events.Schedule | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const cron = /^cron\((\S+ ){5}\S+\)$/.test(text);
  const rate = /^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$/.test(text);
  if (!cron && !rate) {
    throw new Error(
      `context ${key} must be an EventBridge cron(…) with six fields or rate(N minutes|hours|days), got ${JSON.stringify(value)}`,
    );
  }
  return events.Schedule.expression(text);
}

/** A positive number from context, or undefined when unset. */
function positiveNumber(key: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value === '' || !Number.isFinite(parsed) || parsed <= 0) {
    throw new Error(`context ${key} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/** A whole number at least `minimum` from context, or undefined when unset. */
function count(key: string, value: unknown, minimum: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value === '' || !Number.isInteger(parsed) || parsed < minimum) {
    throw new Error(
      `context ${key} must be a whole number of at least ${minimum}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

/** Reserved concurrency from context: a count, or `none`/0 for no reservation (0 in the props). */
function reservation(key: string, value: unknown): number | undefined {
  if (value === 'none') return 0;
  return count(key, value, 0);
}

function optionalDuration(
  amount: number | undefined,
  unit: (amount: number) => Duration,
): Duration | undefined {
  return amount === undefined ? undefined : unit(amount);
}
