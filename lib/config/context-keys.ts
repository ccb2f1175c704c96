import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import leven from 'leven';
import { allowedNetworkProblem } from '../../functions/shared/network/store-endpoint-policy';
import { SECRETS_BACKENDS, type SecretsBackend } from '../../functions/shared/registry/bucket-record';
import { DEFAULT_ROTATION_DAYS } from '../../functions/shared/rotation/rotation-interval';
import { rotatedUserPathProblem } from '../constructs/iam-key-rotation';
import { DEFAULT_DRIFT_SCHEDULE } from '../constructs/scheduled-drift-check';

/**
 * One context key of the CDK app (`-c key=value` or `cdk.json`): what the operator reads in the
 * generated table (docs/reference/context-keys.md) beside the parser that enforces it, so the
 * table cannot say something the synth does not do.
 */
export interface ContextKey<T> {
  /** The default as the operator sees it (what an unset key means). */
  readonly default: string;
  readonly meaning: string;
  /** What the synth refuses for this key ('' when it takes any value). */
  readonly refuses: string;
  /** The value the app uses; throws, naming the key, on a value the synth refuses. */
  readonly parse: (value: unknown, key: string) => T;
}

const contextKey = <T>(key: ContextKey<T>): ContextKey<T> => key;

/** A context value given as a JSON array or a comma-separated string. */
export function contextList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value.trim() === '') return [];
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** A context string, or undefined when unset or empty. */
function optionalText(value: unknown): string | undefined {
  return value === undefined || value === '' ? undefined : String(value);
}

/** A whole number at least `minimum`, or undefined when unset. */
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

/** Whole days or seconds as a Duration, or undefined when unset. */
const duration =
  (unit: (amount: number) => Duration) =>
  (value: unknown, key: string): Duration | undefined => {
    const amount = count(key, value, 1);
    return amount === undefined ? undefined : unit(amount);
  };

/** Reserved concurrency: a count, or `none`/0 for no reservation (0 in the props). */
function reservation(value: unknown, key: string): number | undefined {
  if (value === 'none') return 0;
  return count(key, value, 0);
}

/**
 * Principals the API admits (`fenceRoleArns`, `adminRoleArns`): each a full IAM role ARN, as
 * `aws:PrincipalArn` shows an assumed role. A wildcard, an account or a root ARN would open the
 * API to every principal it matches (`*` to every account), so none is accepted.
 */
function roleArns(value: unknown, key: string): string[] {
  const arns = contextList(value);
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

/** An EC2 resource id: the prefix, then 8 or 17 hexadecimal characters. */
export function awsId(prefix: string, value: string): boolean {
  return new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`).test(value);
}

/** EC2 ids of one kind (`subnet`, `sg`), as a list. */
const awsIds =
  (prefix: string) =>
  (value: unknown, key: string): string[] => {
    const ids = contextList(value);
    const wrong = ids.find((id) => !awsId(prefix, id));
    if (wrong !== undefined)
      throw new Error(`context ${key}: ${JSON.stringify(wrong)} is not a ${prefix}-… id`);
    return ids;
  };

/** `true` or `false`, as text or JSON; `fallback` when unset. */
const flag =
  (fallback: boolean) =>
  (value: unknown, key: string): boolean => {
    if (value === undefined) return fallback;
    if (!['true', 'false', true, false].includes(value as string | boolean)) {
      throw new Error(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
    }
    return value === true || value === 'true';
  };

/** The IAM path of the rotated users, or undefined when unset; `rotatedUserPathProblem` says what it refuses. */
function iamUserPath(value: unknown, key: string): string | undefined {
  const path = optionalText(value);
  if (path === undefined) return undefined;
  const problem = rotatedUserPathProblem(path);
  if (problem !== undefined) throw new Error(`context ${key} ${problem}, got ${JSON.stringify(value)}`);
  return path;
}

/** A key the app reads as text; what it refuses, the constructs check (`lambda-secrets-access.ts`). */
const text = (meaning: string, fallback = 'none', refuses = '') =>
  contextKey({ default: fallback, meaning, refuses, parse: optionalText });

/**
 * Every context key the app reads, with its default, meaning and what the synth refuses.
 * `readContext` reads each through this table and nothing else does, so the generated reference
 * lists exactly the keys the synth reads.
 */
export const CONTEXT_KEYS = {
  stackName: contextKey({
    default: '`FenceBucketBroker`',
    meaning: 'CloudFormation stack name',
    refuses: '',
    parse: (value) => String(value ?? 'FenceBucketBroker'),
  }),
  fenceRoleArns: contextKey({
    default: 'the example in `cdk.json`',
    meaning:
      "principals (Fence's IRSA role) allowed to call the presign API; comma-separated or a JSON array, full role ARNs (with any path), as `aws:PrincipalArn` shows them. Required: the API explicitly denies every other principal",
    refuses:
      'none given; anything but a full IAM role ARN (a wildcard, an account, a root, user or session ARN)',
    parse: roleArns,
  }),
  adminRoleArns: contextKey({
    default: 'none',
    meaning:
      "principals (operators' admin roles) allowed to call the admin API (`/v1/admin/…`); the API explicitly denies every other principal and the handler checks the caller again. Without it no admin API is deployed (the CLI can still run the admin core with your own credentials)",
    refuses: 'anything but a full IAM role ARN, as for `fenceRoleArns`',
    parse: roleArns,
  }),
  assumableRoleArns: contextKey({
    default: 'none',
    meaning:
      'role ARNs that role-mode buckets name; the runtime role may assume only these (and the admin role, to prove a registration)',
    refuses: '',
    parse: contextList,
  }),
  secretsPrefix: contextKey({
    default: '`gen3/fence/`',
    meaning:
      'the runtime role reads secrets under this name prefix only; the admin sub-path `<prefix>admin/` is denied to it',
    refuses:
      "a prefix not ending in `/` (the Deny on `<prefix>admin/` would miss) or with characters other than Secrets Manager's name characters (a wildcard would grant every secret)",
    parse: (value, key): string | undefined => {
      if (value === undefined) return undefined;
      const prefix = String(value);
      if (!/^[\w+=.@-][\w+=.@/-]*\/$/.test(prefix)) {
        throw new Error(
          `context ${key} must be a secret name prefix ending in / (letters, digits and /_+=.@-, no wildcard), got ${JSON.stringify(value)}`,
        );
      }
      return prefix;
    },
  }),
  secretsBackends: contextKey({
    default: '`aws_sm`',
    meaning:
      'backends the presign, admin and drift-check Lambdas serve (`FENCE_SECRETS_BACKEND`), comma-separated: `aws_sm`, `gcp_sm`, `vault`. `vault` needs `vaultAddr`, `vaultIamServerId` and one Vault role per function; `k8s` buckets work through the CLI and the local runner',
    refuses: `a name that is not a secrets backend (${SECRETS_BACKENDS.join(', ')}); \`k8s\` (a Lambda has no mounted secret files); \`vault\` without its address, server id and roles; \`gcp_sm\` without \`gcpExternalAccountFile\``,
    parse: (value, key): SecretsBackend[] => {
      const names = contextList(value);
      const unknown = names.find((name) => !(SECRETS_BACKENDS as readonly string[]).includes(name));
      if (unknown !== undefined) {
        throw new Error(
          `context ${key}: ${JSON.stringify(unknown)} is not a secrets backend (${SECRETS_BACKENDS.join(', ')})`,
        );
      }
      return names as SecretsBackend[];
    },
  }),
  minioAdminSecretArns: contextKey({
    default: 'none: no rotation function',
    meaning:
      'MinIO admin credential secrets, the only secrets rotation may read besides those it rotates: full ARNs, each under `<prefix>admin/` or outside the prefix. The rotation Lambda is deployed only when this is set',
    refuses: 'an ARN anywhere else under the prefix',
    parse: contextList,
  }),
  rotatedMinioSecrets: contextKey({
    default: 'none',
    meaning: 'names of MinIO secrets to rotate on a schedule (comma-separated)',
    refuses: 'any without `minioAdminSecretArns`',
    parse: contextList,
  }),
  rotationDays: contextKey({
    default: `\`${DEFAULT_ROTATION_DAYS}\``,
    meaning: 'rotation interval of `rotatedMinioSecrets`, in days',
    refuses:
      "not a whole number of at least 1; an interval not longer than cache TTL × 1.1 + stale-on-error + `maxUrlLifetimeSeconds` + 10 min + Secrets Manager's rotation window of 24 h (about 26.3 h with the defaults: `1` is refused, `2` accepted)",
    parse: duration(Duration.days),
  }),
  rotatedIamUserPath: contextKey({
    default: 'none: no IAM-key rotation function',
    meaning:
      'the IAM path of the users whose access keys rotation may create, list, deactivate and delete (e.g. `/gen3-buckets/`): the IAM user-key rotation Lambda is deployed only when this is set, and its role reaches `arn:aws:iam::<account>:user<path>*` and no other user. It rotates only secrets under the prefix tagged `fence-bucket-broker:rotation=iam-user-key`; its ARN is the `IamKeyRotationFunctionArn` output',
    refuses:
      'a path not starting and ending with `/`, with an empty segment, with characters other than IAM name characters (letters, digits, `_+=,.@-`; a `*`, `?` or a policy variable would widen the grant) or longer than 512; `/` alone (every user of the account: not least privilege)',
    parse: iamUserPath,
  }),
  maxUrlLifetimeSeconds: contextKey({
    default: '`3600`',
    meaning:
      "the deployment's cap on every bucket's `max_expires_in`: registrations and patches above it are refused, the sync does not copy rows above it, presign never signs longer, and the rotation interval rule counts it (`MAX_URL_LIFETIME_SECONDS`)",
    refuses: 'not a whole number of at least 1; more than 604800 (7 days, the longest a SigV4 URL lives)',
    parse: duration(Duration.seconds),
  }),
  presignThrottleRate: contextKey({
    default: '`500`',
    meaning: "requests per second the API's stage admits (all routes together); more get API Gateway's 429",
    refuses: 'not a positive number',
    parse: (value, key): number | undefined => {
      if (value === undefined) return undefined;
      const parsed = Number(value);
      if (value === '' || !Number.isFinite(parsed) || parsed <= 0) {
        throw new Error(`context ${key} must be a positive number, got ${JSON.stringify(value)}`);
      }
      return parsed;
    },
  }),
  presignThrottleBurst: contextKey({
    default: '`1000`',
    meaning: 'requests the stage admits in a burst above that rate',
    refuses: 'not a whole number of at least 1',
    parse: (value, key) => count(key, value, 1),
  }),
  presignReservedConcurrency: contextKey({
    default: '`100`',
    meaning:
      'concurrent executions reserved for the presign Lambda (its guaranteed share and its cap); `0` or `none`: no reservation',
    refuses: 'not a whole number, `none` or 0',
    parse: reservation,
  }),
  rotationReservedConcurrency: contextKey({
    default: '`5`',
    meaning:
      'concurrent executions reserved for each rotation Lambda (MinIO, IAM user keys), so a flood of presigns cannot starve rotation; `0` or `none`: no reservation',
    refuses: 'not a whole number, `none` or 0',
    parse: reservation,
  }),
  adminReservedConcurrency: contextKey({
    default: '`5`',
    meaning:
      "concurrent executions reserved for the admin Lambda: a cap, so a runaway script cannot take the account's pool or open more connection pools on Fence DB; `0` or `none`: no reservation",
    refuses: 'not a whole number, `none` or 0',
    parse: reservation,
  }),
  syncReservedConcurrency: contextKey({
    default: '`1`',
    meaning:
      'the sync runs one at a time: an overlapping run is safe but doubles the load for the same answer; `0` or `none`: no reservation',
    refuses: 'not a whole number, `none` or 0',
    parse: reservation,
  }),
  driftReservedConcurrency: contextKey({
    default: '`1`',
    meaning:
      'the drift check runs one at a time, as the sync does (a manual invoke during a run is throttled); `0` or `none`: no reservation',
    refuses: 'not a whole number, `none` or 0',
    parse: reservation,
  }),
  driftSchedule: contextKey({
    default: `\`${DEFAULT_DRIFT_SCHEDULE}\` (nightly, 03:00 UTC)`,
    meaning: 'when the drift check runs',
    refuses: 'anything but an EventBridge `cron(…)` with six fields or `rate(N minutes|hours|days)`',
    parse: (value, key): events.Schedule | undefined => {
      if (value === undefined) return undefined;
      const expression = String(value).trim();
      const cron = /^cron\((\S+ ){5}\S+\)$/.test(expression);
      const rate = /^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$/.test(expression);
      if (!cron && !rate) {
        throw new Error(
          `context ${key} must be an EventBridge cron(…) with six fields or rate(N minutes|hours|days), got ${JSON.stringify(value)}`,
        );
      }
      return events.Schedule.expression(expression);
    },
  }),
  driftReportRetentionDays: contextKey({
    default: '`400`',
    meaning: 'days a drift report is kept in the report bucket (lifecycle rule)',
    refuses: 'not a whole number of at least 1',
    parse: duration(Duration.days),
  }),
  driftMaxPinAgeDays: contextKey({
    default: '`30`',
    meaning:
      "days after which a bucket pinned to a custom staging label fails the drift check's `pin_age` (such a version keeps its key through every rotation)",
    refuses: 'not a whole number of at least 1',
    parse: duration(Duration.days),
  }),
  driftMaxStaticKeyAgeDays: contextKey({
    default: '`90`',
    meaning:
      "days after which a static AWS key without rotation fails the drift check's `key_age` (aged by its secret version's creation date: when it was stored)",
    refuses: 'not a whole number of at least 1',
    parse: duration(Duration.days),
  }),
  alarmEmails: contextKey({
    default: 'none (subscribe to the `AlarmTopicArn` output yourself)',
    meaning: 'e-mail addresses subscribed to the alarm topic (each confirms by mail); comma-separated',
    refuses: '',
    parse: contextList,
  }),
  registryRemovalPolicy: contextKey({
    default: '`retain`',
    meaning: '`destroy` deletes the registry table with the stack',
    refuses: '',
    parse: (value) => (value === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN),
  }),
  registryDeletionProtection: contextKey({
    default: '`true`',
    meaning: 'DynamoDB deletion protection on the registry table; `false` turns it off',
    refuses: '',
    parse: (value) => value !== 'false' && value !== false,
  }),
  lambdaArchitecture: contextKey({
    default: '`arm64`',
    meaning:
      "the functions' instruction set; only tests change it (to run the deployed bundles in Lambda containers on an x86_64 host): nothing else in the template differs",
    refuses: 'anything but `arm64` or `x86_64`',
    parse: (value, key): lambda.Architecture | undefined => {
      if (value === undefined) return undefined;
      const known = [lambda.Architecture.ARM_64, lambda.Architecture.X86_64];
      const architecture = known.find((candidate) => candidate.name === value);
      if (architecture === undefined) {
        throw new Error(
          `context ${key} must be ${known.map((candidate) => candidate.name).join(' or ')}, got ${JSON.stringify(value)}`,
        );
      }
      return architecture;
    },
  }),
  fenceDbSecretArn: contextKey({
    default: 'none: no sync',
    meaning:
      "full ARN of the secret holding Fence DB's connection (outside `secretsPrefix`); deploys the scheduled sync, and with `adminRoleArns` makes the admin API write Fence DB first",
    refuses: 'one without `vpcId` and `vpcSubnetIds`',
    parse: optionalText,
  }),
  vpcId: contextKey({
    default: 'none',
    meaning:
      'the VPC the sync (and, with Fence DB, the admin function) runs in; required with `fenceDbSecretArn`',
    refuses: 'anything but a `vpc-…` id, with `fenceDbSecretArn`',
    parse: optionalText,
  }),
  vpcSubnetIds: contextKey({
    default: 'none',
    meaning: 'the subnets (comma-separated) the sync runs in; required with `fenceDbSecretArn`',
    refuses: 'an entry that is not a `subnet-…` id',
    parse: awsIds('subnet'),
  }),
  vpcSecurityGroupIds: contextKey({
    default: 'a new group, outbound only',
    meaning: 'security groups of the sync function',
    refuses: 'an entry that is not an `sg-…` id',
    parse: awsIds('sg'),
  }),
  fenceDbSecurityGroupId: contextKey({
    default: 'none',
    meaning:
      "Fence DB's own security group: the admin function may connect only there (and to HTTPS), and the group is told to admit it; without it, admit the `AdminSecurityGroupId…` output in Fence DB's group yourself",
    refuses: 'anything but an `sg-…` id',
    parse: (value, key): string | undefined => {
      const id = optionalText(value);
      if (id !== undefined && !awsId('sg', id)) {
        throw new Error(`context ${key}: ${JSON.stringify(id)} is not a sg-… id`);
      }
      return id;
    },
  }),
  fenceDbPort: contextKey({
    default: '`5432`',
    meaning: "Fence DB's port, the only one besides HTTPS the admin function may connect to",
    refuses: 'not a TCP port (1–65535)',
    parse: (value, key): number | undefined => {
      const number = count(key, value, 1);
      if (number !== undefined && number > 65_535) {
        throw new Error(`context ${key} must be a TCP port (1–65535), got ${JSON.stringify(value)}`);
      }
      return number;
    },
  }),
  syncSchedule: contextKey({
    default: '`5` (minutes)',
    meaning: 'how often the sync runs: minutes, or an EventBridge `rate(…)`/`cron(…)` expression',
    refuses: 'anything but `rate(…)`, `cron(…)` or a whole number of minutes',
    parse: (value, key): events.Schedule | undefined => {
      if (value === undefined) return undefined;
      const expression = String(value).trim();
      if (/^(rate|cron)\(.+\)$/.test(expression)) return events.Schedule.expression(expression);
      const minutes = Number(expression);
      if (!Number.isInteger(minutes) || minutes < 1 || expression === '') {
        throw new Error(
          `context ${key} must be rate(…), cron(…) or a whole number of minutes, got ${JSON.stringify(value)}`,
        );
      }
      return events.Schedule.rate(Duration.minutes(minutes));
    },
  }),
  storeEndpointAllowHttp: contextKey({
    default: '`false`',
    meaning:
      '`true` lets bucket endpoints use `http` (`STORE_ENDPOINT_ALLOW_HTTP` of the presign, admin, drift-check and rotation Lambdas): only for stores reached privately',
    refuses: 'anything but `true` or `false`',
    parse: flag(false),
  }),
  storeEndpointAllowedNetworks: contextKey({
    default: 'none',
    meaning:
      'host names and CIDRs bucket endpoints may reach although private (`STORE_ENDPOINT_ALLOWED_NETWORKS`, comma-separated or a JSON array), e.g. `10.0.0.5/32` or `minio.internal` for an on-prem MinIO',
    refuses: 'a bad CIDR or host name (naming it)',
    parse: (value, key): string[] => {
      const networks = contextList(value);
      for (const entry of networks) {
        const problem = allowedNetworkProblem(entry);
        if (problem !== undefined) throw new Error(`context ${key}: ${JSON.stringify(entry)} ${problem}`);
      }
      return networks;
    },
  }),
  vaultAddr: contextKey({
    default: 'none',
    meaning: "with `vault`: Vault's (or OpenBao's) address; the functions must reach it over the network",
    refuses: 'anything but `https://…`',
    parse: optionalText,
  }),
  vaultPresignRole: text(
    "with `vault`: the presign function's role of Vault's AWS auth method (its `VAULT_ROLE`); its policy reads",
    'none',
    'missing with `vault`; the same role as another function',
  ),
  vaultAdminRole: text(
    "with `vault` and `adminRoleArns`: the admin function's Vault role (its `VAULT_ROLE`); its policy writes",
    'none',
    'missing with `vault`; the same role as another function',
  ),
  vaultDriftRole: text(
    "with `vault`: the drift check's Vault role (its `VAULT_ROLE`)",
    'none',
    'missing with `vault`; the same role as another function',
  ),
  vaultAwsAuthRole: contextKey({
    default: 'none',
    meaning: 'replaced by one role per function (`vaultPresignRole`, `vaultAdminRole`, `vaultDriftRole`)',
    refuses: 'any value: one Vault role for every function would let presign write',
    parse: (value, key): undefined => {
      if (value === undefined) return undefined;
      throw new Error(
        `context ${key} (one Vault role for every function) is replaced by one role per function, so presign can never write: -c vaultPresignRole=… -c vaultAdminRole=… -c vaultDriftRole=… (README, "Vault from Lambda")`,
      );
    },
  }),
  vaultAwsAuthMount: text('where the AWS auth method is mounted (`VAULT_AUTH_MOUNT`)', '`aws`'),
  vaultIamServerId: text(
    "with `vault`, required: the auth method's `iam_server_id_header_value`, sent signed as `X-Vault-AWS-IAM-Server-ID` (`VAULT_AWS_IAM_SERVER_ID`), so a signed login cannot be replayed to another Vault",
    'none',
    'missing with `vault`',
  ),
  vaultStsRegion: text(
    "the region of the STS endpoint Vault's auth method is configured with (its `sts_endpoint` and `sts_region`; `VAULT_AWS_STS_REGION`)",
    'none: the global endpoint',
  ),
  vaultNamespace: text('`VAULT_NAMESPACE`: the Vault Enterprise / OpenBao namespace'),
  vaultKvMount: text('the KV v2 mount where the admin API creates secrets (`VAULT_KV_MOUNT`)', '`secret`'),
  vaultCaCertFile: text(
    "PEM file of the CA(s) that sign Vault's certificate, copied into the three bundles (`VAULT_CACERT=/var/task/vault-ca.pem`)",
    'the system roots',
    'a file holding a private key',
  ),
  gcpExternalAccountFile: text(
    "path to the functions' workload identity federation configuration: required with `gcp_sm`, and what GCS buckets in `workload_identity` mode sign with",
    'none',
    "missing with `gcp_sm`; a service-account key file, or a `token_url` or impersonation URL other than Google's",
  ),
  gcpPresignServiceAccount: text(
    "the presign function's own Google service account, impersonated through the federation (`GCP_IMPERSONATE_SERVICE_ACCOUNT`)",
    'none: the function federates as its own execution role',
    'missing, or the same account as another function, when the file names a `service_account_impersonation_url`',
  ),
  gcpAdminServiceAccount: text(
    "the admin function's own Google service account (`GCP_IMPERSONATE_SERVICE_ACCOUNT`)",
    'none: the function federates as its own execution role',
    'missing, or the same account as another function, when the file names a `service_account_impersonation_url`',
  ),
  gcpDriftServiceAccount: text(
    "the drift check's own Google service account (`GCP_IMPERSONATE_SERVICE_ACCOUNT`)",
    'none: the function federates as its own execution role',
    'missing, or the same account as another function, when the file names a `service_account_impersonation_url`',
  ),
  gcpSecretManagerProject: text(
    'with `gcp_sm`: the project (id) where the admin API creates secrets (`GCP_SECRET_MANAGER_PROJECT`); without it the admin API registers only existing secrets',
  ),
  gcpRequesterPaysProject: text(
    'the project (id) billed when a request to a GCS bucket asks for `requester_pays` (`GCP_REQUESTER_PAYS_PROJECT` of the presign function)',
    "the signing service account's project",
  ),
} as const satisfies Record<string, ContextKey<unknown>>;

export type ContextKeyName = keyof typeof CONTEXT_KEYS;

/** The app's settings, each parsed from its context key. */
export type ContextSettings = { [K in ContextKeyName]: ReturnType<(typeof CONTEXT_KEYS)[K]['parse']> };

/**
 * Keys that are not the app's: CDK's own (`@aws-cdk/…` feature flags, `aws:cdk:…`, `aws-cdk:…`,
 * `cdk-…`), context lookups cached in cdk.context.json (`availability-zones:account=…`) and
 * anything else with a separator. The app's keys are plain camelCase words.
 */
const APP_KEY_SHAPE = /^[a-z][A-Za-z0-9]*$/;

/**
 * The key of CONTEXT_KEYS a mistyped key most likely meant (`rotationDay` → `rotationDays`),
 * when one is close enough to be a typo.
 */
export function closestContextKey(key: string): ContextKeyName | undefined {
  let best: { name: ContextKeyName; distance: number } | undefined;
  for (const name of Object.keys(CONTEXT_KEYS) as ContextKeyName[]) {
    const distance = leven(key.toLowerCase(), name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(key.length / 3))
    ? best.name
    : undefined;
}

/**
 * Reads every key of CONTEXT_KEYS through `read` (the app's `tryGetContext`), once each, and
 * refuses a key the app would ignore: a typo would otherwise deploy the default in silence.
 */
export function readContext(read: (key: string) => unknown, given: readonly string[]): ContextSettings {
  const unknown = given.filter((key) => APP_KEY_SHAPE.test(key) && !Object.hasOwn(CONTEXT_KEYS, key));
  if (unknown.length > 0) {
    throw new Error(
      unknown
        .map((key) => {
          const closest = closestContextKey(key);
          return `context ${key} is not a key of this app${closest === undefined ? '' : ` (did you mean ${closest}?)`}`;
        })
        .join('; '),
    );
  }
  return Object.fromEntries(
    Object.entries(CONTEXT_KEYS).map(([key, spec]) => [
      key,
      (spec as ContextKey<unknown>).parse(read(key), key),
    ]),
  ) as ContextSettings;
}
