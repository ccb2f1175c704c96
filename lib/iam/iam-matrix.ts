import { IAM_ROTATION_TAG } from '../../functions/shared/rotation/iam-rotation-secret';
import { ADMIN_SECRETS_SUBPATH } from '../../functions/shared/secrets/secret-paths';

/**
 * Who may do what, in one place. Pure data: the constructs build their IAM statements from these
 * rules (`matrixStatement`), and `test/infra/iam/iam-matrix.test.ts` evaluates the synthesized
 * policies against every rule, and checks that nothing else is allowed.
 *
 * Resources and condition values are templates. `{partition}`, `{region}`, `{account}` and
 * `{prefix}` (the secrets name prefix) hold for every role; each role names its own resources in
 * its `placeholders`. A resource that is exactly one list placeholder (`{assumableRoles}`) stands
 * for every ARN of the list, and a rule whose list is empty is left out.
 *
 * Every role of DESIGN.md's "IAM split" has its matrix here.
 */

export interface IamRule {
  readonly effect: 'Allow' | 'Deny';
  /** IAM actions; wildcards only in Deny rules (an Allow names each action it needs). */
  readonly actions: readonly string[];
  /** ARN templates. */
  readonly resources: readonly string[];
  /** IAM conditions, values as templates. */
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Why the role has this, or must never have it. */
  readonly reason: string;
}

export interface RoleMatrix {
  readonly description: string;
  /** The role's own named resources, each with what it stands for. */
  readonly placeholders: Readonly<Record<string, string>>;
  readonly rules: Readonly<Record<string, IamRule>>;
}

const SECRET = 'arn:{partition}:secretsmanager:{region}:{account}:secret:';
const ROTATED_USERS = 'arn:{partition}:iam::{account}:user{rotatedUserPath}*';
const ANY_KMS_KEY = 'arn:{partition}:kms:{region}:{account}:key/*';
const VIA_SECRETS_MANAGER = { StringEquals: { 'kms:ViaService': 'secretsmanager.{region}.amazonaws.com' } };

/**
 * Where MinIO admin credentials live: under the prefix, in a sub-path the runtime role may not
 * touch. The admin core refuses bucket secrets there by the same constant.
 */
export const ADMIN_SECRETS_PATH = ADMIN_SECRETS_SUBPATH;

/**
 * Secrets Manager's Write, Tagging and Permissions-management actions, by family rather than by
 * name, so actions AWS adds later are denied too (the cross-account replication actions,
 * `AcceptCrossAccountReplication`, `AssociateCrossAccountReplica` and
 * `DisassociateCrossAccountReplica`, appeared after the first list of names was written). No Read
 * or List action starts with one of these.
 */
export const SECRET_WRITE_FAMILIES = [
  'secretsmanager:Accept*',
  'secretsmanager:Associate*',
  'secretsmanager:Cancel*',
  'secretsmanager:Create*',
  'secretsmanager:Delete*',
  'secretsmanager:Disassociate*',
  'secretsmanager:Put*',
  'secretsmanager:Remove*',
  'secretsmanager:Replicate*',
  'secretsmanager:Restore*',
  'secretsmanager:Rotate*',
  'secretsmanager:Stop*',
  'secretsmanager:Tag*',
  'secretsmanager:Untag*',
  'secretsmanager:Update*',
  'secretsmanager:Validate*',
] as const;

/** The rules every broker function's role carries (`BrokerFunction`). */
export const BROKER_FUNCTION_MATRIX = {
  description: 'every broker Lambda, on top of its own role matrix',
  placeholders: { logGroup: 'the function’s own log group' },
  rules: {
    writeOwnLogs: {
      effect: 'Allow',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: ['{logGroup}'],
      reason: 'its own log group, nothing else: no AWSLambdaBasicExecutionRole',
    },
    writeTraces: {
      effect: 'Allow',
      actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      resources: ['*'],
      reason: 'active tracing (CDK adds it); X-Ray has no resource-level permissions',
    },
  },
} as const satisfies RoleMatrix;

const NETWORK_INTERFACE = 'arn:{partition}:ec2:{region}:{account}:network-interface/*';

/**
 * The rules a broker function's role carries when the function runs in a VPC (`BrokerFunction`
 * with `vpc`: the admin function with Fence DB as the registry of record, and the sync), and no
 * other function: what AWS's AWSLambdaVPCAccessExecutionRole grants on `*`, scoped as far as
 * Lambda allows. Lambda creates and deletes the function's network interfaces with the function's
 * own role, and CreateFunction fails without these.
 */
export const VPC_NETWORK_MATRIX = {
  description: 'a broker Lambda in a VPC: the network interfaces Lambda manages for it',
  placeholders: {
    subnets: 'the ARNs of the function’s subnets',
    securityGroups: 'the ARNs of the function’s security groups',
  },
  rules: {
    createNetworkInterfaces: {
      effect: 'Allow',
      actions: ['ec2:CreateNetworkInterface'],
      resources: [NETWORK_INTERFACE, '{subnets}', '{securityGroups}'],
      reason:
        'Lambda’s interfaces in the function’s own subnets with its own security groups: CreateNetworkInterface authorizes the subnet and each group as resources, so no other subnet or group can be used',
    },
    manageNetworkInterfaces: {
      effect: 'Allow',
      actions: [
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: [NETWORK_INTERFACE],
      reason:
        'interfaces of this account and region only; their ids are Lambda’s, not known at synth, and AWS warns that a narrower DeleteNetworkInterface can cut the function off its VPC',
    },
    describeNetwork: {
      effect: 'Allow',
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      resources: ['*'],
      reason: 'EC2 Describe actions have no resource-level permissions (Lambda needs them on "*")',
    },
  },
} as const satisfies RoleMatrix;

/** The presign function (the runtime role of DESIGN.md). */
export const PRESIGN_RUNTIME_MATRIX = {
  description: 'the presign Lambda: reads what a presign needs, writes nothing',
  placeholders: {
    registryTable: 'the registry table’s ARN',
    assumableRoles: 'the role ARNs role-mode buckets name (assumableRoleArns)',
  },
  rules: {
    readBucketSecrets: {
      effect: 'Allow',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [`${SECRET}{prefix}*`],
      reason: 'static-mode buckets name their secret_ref under the prefix, registered at run time',
    },
    decryptSecrets: {
      effect: 'Allow',
      actions: ['kms:Decrypt'],
      resources: [ANY_KMS_KEY],
      conditions: VIA_SECRETS_MANAGER,
      reason: 'secrets may use any customer key; only through Secrets Manager',
    },
    assumeBucketRoles: {
      effect: 'Allow',
      actions: ['sts:AssumeRole'],
      resources: ['{assumableRoles}'],
      reason: 'role-mode buckets; only the roles the operator lists',
    },
    lookUpBucket: {
      effect: 'Allow',
      actions: ['dynamodb:GetItem'],
      resources: ['{registryTable}'],
      reason: 'one GetItem by bucket name: no index, no scan, no write',
    },
    denySecretWrites: {
      effect: 'Deny',
      actions: SECRET_WRITE_FAMILIES,
      resources: ['*'],
      reason: 'the presign path never changes a secret, whatever another policy on the role grants',
    },
    denyAdminSecrets: {
      effect: 'Deny',
      actions: ['secretsmanager:*'],
      resources: [`${SECRET}{prefix}${ADMIN_SECRETS_PATH}*`],
      reason: 'MinIO admin credentials share the prefix; a presign may never read them',
    },
  },
} as const satisfies RoleMatrix;

/** The MinIO key-rotation function. */
export const ROTATION_MATRIX = {
  description: 'the MinIO key-rotation Lambda: the four rotation steps on secrets that name it',
  placeholders: {
    rotationFunction: 'the rotation function’s ARN',
    adminSecrets: 'the MinIO admin credential secrets (minioAdminSecretArns)',
    registryTable: 'the registry table’s ARN',
  },
  rules: {
    rotateOwnSecrets: {
      effect: 'Allow',
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      resources: [`${SECRET}{prefix}*`],
      conditions: {
        StringEquals: { 'secretsmanager:resource/AllowRotationLambdaArn': '{rotationFunction}' },
      },
      reason: 'the rotation steps, only on secrets whose rotation Lambda is this function',
    },
    readAdminSecrets: {
      effect: 'Allow',
      actions: ['secretsmanager:GetSecretValue'],
      resources: ['{adminSecrets}'],
      reason: 'the MinIO admin credentials the operator names, and no other (no prefix-wide read)',
    },
    useSecretKeys: {
      effect: 'Allow',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [ANY_KMS_KEY],
      conditions: VIA_SECRETS_MANAGER,
      reason: 'reading and writing secret versions under any customer key, only through Secrets Manager',
    },
    scanRegistry: {
      effect: 'Allow',
      actions: ['dynamodb:Scan'],
      resources: ['{registryTable}'],
      reason: 'read-only: the longest max_expires_in of the buckets on a rotated secret',
    },
    denySecretAdministration: {
      effect: 'Deny',
      actions: [
        ...SECRET_WRITE_FAMILIES.filter(
          (family) => family !== 'secretsmanager:Put*' && family !== 'secretsmanager:Update*',
        ),
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:UpdateSecret',
      ],
      resources: ['*'],
      reason:
        'rotation writes values and moves stages; it never creates, deletes, re-keys or shares a secret',
    },
  },
} as const satisfies RoleMatrix;

/**
 * The user tags IAM rotation writes (IAM access keys carry no tags, so a key's demotion time and
 * createSecret's in-flight mark live on the user): `fence-bucket-broker:demoted:<key id>` and
 * `fence-bucket-broker:creating`. The role may tag users with these keys only.
 */
export const ROTATION_USER_TAG_KEYS = 'fence-bucket-broker:*';

/**
 * Privilege-escalation paths through IAM: who holds one of these can make itself anything. The
 * IAM rotation role is denied them whatever another policy on it grants; its own grant is the four
 * access-key actions on users under one path.
 */
export const IAM_ESCALATION_ACTIONS = [
  'iam:CreateUser',
  'iam:DeleteUser',
  'iam:UpdateUser',
  'iam:AttachUserPolicy',
  'iam:DetachUserPolicy',
  'iam:PutUserPolicy',
  'iam:DeleteUserPolicy',
  'iam:PutUserPermissionsBoundary',
  'iam:DeleteUserPermissionsBoundary',
  'iam:AddUserToGroup',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
  'iam:CreateServiceSpecificCredential',
  'iam:UploadSSHPublicKey',
  'iam:UploadSigningCertificate',
  'iam:CreateRole',
  'iam:AttachRolePolicy',
  'iam:PutRolePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:PassRole',
  'iam:CreatePolicyVersion',
  'iam:SetDefaultPolicyVersion',
  'iam:AttachGroupPolicy',
  'iam:PutGroupPolicy',
] as const;

/**
 * The IAM user-key rotation function (issue 23): the four rotation steps on secrets tagged for it,
 * and access keys of the users under one IAM path. testSecret proves the new key with the key's own
 * credentials, so the role has no S3 right.
 */
export const IAM_KEY_ROTATION_MATRIX = {
  description:
    'the IAM user-key rotation Lambda: the four rotation steps on tagged secrets that name it, access keys (and rotation tags) of users under one IAM path',
  placeholders: {
    rotationFunction: 'the IAM rotation function’s ARN',
    rotatedUserPath:
      'the IAM path of the users whose keys are rotated (rotatedIamUserPath), e.g. /gen3-buckets/',
    registryTable: 'the registry table’s ARN',
  },
  rules: {
    rotateTaggedSecrets: {
      effect: 'Allow',
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      resources: [`${SECRET}{prefix}*`],
      conditions: {
        StringEquals: {
          [`secretsmanager:ResourceTag/${IAM_ROTATION_TAG.key}`]: IAM_ROTATION_TAG.value,
          'secretsmanager:resource/AllowRotationLambdaArn': '{rotationFunction}',
        },
      },
      reason:
        'the rotation steps, only on secrets under the prefix tagged for IAM user-key rotation (ABAC: the CLI tags secrets it creates after the deploy) whose rotation Lambda is this function',
    },
    manageUserKeys: {
      effect: 'Allow',
      actions: [
        'iam:GetUser',
        'iam:CreateAccessKey',
        'iam:ListAccessKeys',
        'iam:UpdateAccessKey',
        'iam:DeleteAccessKey',
      ],
      resources: [ROTATED_USERS],
      reason:
        'read the user (its path and rotation tags), create the new key, list the user’s keys, deactivate and delete retired ones: only users under the configured path',
    },
    stampUsers: {
      effect: 'Allow',
      actions: ['iam:TagUser', 'iam:UntagUser'],
      resources: [ROTATED_USERS],
      conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ROTATION_USER_TAG_KEYS } },
      reason:
        'a key’s demotion time and the in-flight mark of createSecret, as user tags under the broker’s own keys only (TagUser and UntagUser always carry aws:TagKeys), so no tag another policy reads can be set',
    },
    useSecretKeys: {
      effect: 'Allow',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [ANY_KMS_KEY],
      conditions: VIA_SECRETS_MANAGER,
      reason: 'reading and writing secret versions under any customer key, only through Secrets Manager',
    },
    scanRegistry: {
      effect: 'Allow',
      actions: ['dynamodb:Scan'],
      resources: ['{registryTable}'],
      reason:
        'read-only: the buckets whose secret_ref is the rotated secret (the bucket testSecret proves the key on, their longest max_expires_in)',
    },
    denySecretAdministration: {
      effect: 'Deny',
      actions: [
        ...SECRET_WRITE_FAMILIES.filter(
          (family) => family !== 'secretsmanager:Put*' && family !== 'secretsmanager:Update*',
        ),
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:UpdateSecret',
      ],
      resources: ['*'],
      reason:
        'rotation writes values and moves stages; it never creates, deletes, re-keys, re-tags or shares a secret (so it cannot tag one into its own reach)',
    },
    denyAdminSecrets: {
      effect: 'Deny',
      actions: ['secretsmanager:*'],
      resources: [`${SECRET}{prefix}${ADMIN_SECRETS_PATH}*`],
      reason: 'MinIO admin credentials share the prefix; a tag on one of them gives IAM rotation nothing',
    },
    denyIdentityAdministration: {
      effect: 'Deny',
      actions: IAM_ESCALATION_ACTIONS,
      resources: ['*'],
      reason:
        'a role that mints access keys must never also create or change users, attach policies, set passwords or pass roles, whatever another policy on it grants',
    },
  },
} as const satisfies RoleMatrix;

/** The admin function (the admin role of DESIGN.md): registers and manages buckets and their secrets. */
export const ADMIN_MATRIX = {
  description: 'the admin Lambda: writes bucket secrets under the prefix and the registry, nothing else',
  placeholders: {
    registryTable: 'the registry table’s ARN',
    assumableRoles: 'the role ARNs role-mode buckets name (assumableRoleArns), for validation',
    fenceDbSecret:
      'the Fence DB connection secret (fenceDbSecretArn), when Fence DB is the registry of record',
  },
  rules: {
    manageBucketSecrets: {
      effect: 'Allow',
      actions: [
        'secretsmanager:CreateSecret',
        'secretsmanager:TagResource',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:RotateSecret',
        'secretsmanager:DeleteSecret',
      ],
      resources: [`${SECRET}{prefix}*`],
      reason:
        'register (create with tags, or read and prove an existing secret), rotate now, and remove a secret a failed registration created (with a recovery window)',
    },
    useSecretKeys: {
      effect: 'Allow',
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [ANY_KMS_KEY],
      conditions: VIA_SECRETS_MANAGER,
      reason: 'secrets may use any customer key (kms_key_ref); only through Secrets Manager',
    },
    writeRegistry: {
      effect: 'Allow',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan'],
      resources: ['{registryTable}'],
      reason: 'create, update (conditional puts), get, list',
    },
    findRecordsById: {
      effect: 'Allow',
      actions: ['dynamodb:Query'],
      resources: ['{registryTable}/index/by-id'],
      reason: 'records by id',
    },
    assumeBucketRoles: {
      effect: 'Allow',
      actions: ['sts:AssumeRole'],
      resources: ['{assumableRoles}'],
      reason: 'role-mode registrations are proven by assuming the role, as the presign path will',
    },
    readFenceDbSecret: {
      effect: 'Allow',
      actions: ['secretsmanager:GetSecretValue'],
      resources: ['{fenceDbSecret}'],
      reason:
        'with Fence DB as the registry of record, writes go there first (@middy/secrets-manager reads the connection)',
    },
    denyDeleteWithoutRecovery: {
      effect: 'Deny',
      actions: ['secretsmanager:DeleteSecret'],
      resources: ['*'],
      conditions: { Bool: { 'secretsmanager:ForceDeleteWithoutRecovery': 'true' } },
      reason: 'a deleted secret must stay recoverable for its recovery window',
    },
    denySecretSharingAndRestaging: {
      effect: 'Deny',
      actions: [
        'secretsmanager:Accept*',
        'secretsmanager:Associate*',
        'secretsmanager:Cancel*',
        'secretsmanager:Disassociate*',
        'secretsmanager:DeleteResourcePolicy',
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:PutSecretValue',
        'secretsmanager:Remove*',
        'secretsmanager:Replicate*',
        'secretsmanager:Restore*',
        'secretsmanager:Stop*',
        'secretsmanager:Untag*',
        'secretsmanager:Update*',
        'secretsmanager:Validate*',
      ],
      resources: ['*'],
      reason:
        'admin flows never share a secret, replicate it, re-key it, untag it, move its labels by hand or put a value into an existing one (with RotateSecret a put value could re-point a rotated secret’s parent user; a secret is created with its value)',
    },
    denyAdminSecrets: {
      effect: 'Deny',
      actions: ['secretsmanager:*'],
      resources: [`${SECRET}{prefix}${ADMIN_SECRETS_PATH}*`],
      reason: 'MinIO admin credentials share the prefix; bucket administration never touches them',
    },
  },
} as const satisfies RoleMatrix;

/** The scheduled registry sync (Fence DB → the DynamoDB registry table). */
export const SYNC_MATRIX = {
  description:
    'the registry sync Lambda: reads its one database secret, writes the registry table, nothing else',
  placeholders: {
    fenceDbSecret: 'the Fence DB connection secret (fenceDbSecretArn), a full ARN outside the prefix',
    registryTable: 'the registry table’s ARN',
  },
  rules: {
    readDatabaseSecret: {
      effect: 'Allow',
      actions: ['secretsmanager:GetSecretValue'],
      resources: ['{fenceDbSecret}'],
      reason: 'the Fence DB connection (@middy/secrets-manager reads it on every run); no other secret',
    },
    decryptDatabaseSecret: {
      effect: 'Allow',
      actions: ['kms:Decrypt'],
      resources: [ANY_KMS_KEY],
      conditions: VIA_SECRETS_MANAGER,
      reason:
        'the database secret may use any customer key (RDS-managed secrets often do); only through Secrets Manager',
    },
    mirrorRegistry: {
      effect: 'Allow',
      actions: ['dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'],
      resources: ['{registryTable}'],
      reason:
        'scan the mirror, write records (batches under Fence DB row locks, conditional puts) and conditional deletes; no index, no table changes',
    },
    denySecretWrites: {
      effect: 'Deny',
      actions: SECRET_WRITE_FAMILIES,
      resources: ['*'],
      reason: 'the sync never changes a secret, whatever another policy on the role grants',
    },
    denyBrokerSecrets: {
      effect: 'Deny',
      actions: ['secretsmanager:*'],
      resources: [`${SECRET}{prefix}*`],
      reason:
        'bucket credentials and MinIO admin credentials live under the prefix; the sync never reads them',
    },
  },
} as const satisfies RoleMatrix;

/**
 * The drift-check function (DESIGN.md's drift-check row): reads what the checks need, writes only
 * its reports (and its logs, which carry its metrics as EMF).
 */
export const DRIFT_CHECK_MATRIX = {
  description:
    'the drift-check Lambda: reads secrets, the registry and key metadata; writes its reports only',
  placeholders: {
    registryTable: 'the registry table’s ARN',
    assumableRoles: 'the role ARNs role-mode buckets name (assumableRoleArns)',
    adminSecrets: 'the MinIO admin credential secrets (minioAdminSecretArns)',
    reportBucket: 'the drift report bucket’s ARN',
  },
  rules: {
    readBucketSecrets: {
      effect: 'Allow',
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:GetResourcePolicy',
        'secretsmanager:ListSecretVersionIds',
      ],
      resources: [`${SECRET}{prefix}*`],
      reason:
        'the proof reads each bucket’s secret (and the versions rotation labels), its KMS key id, rotation state and resource policy; a custom-label pin’s age is its version’s creation date (metadata only)',
    },
    readAdminSecrets: {
      effect: 'Allow',
      actions: ['secretsmanager:GetSecretValue'],
      resources: ['{adminSecrets}'],
      reason:
        'lists a MinIO parent’s keys with the admin credential rotation uses (those outside the prefix too)',
    },
    decryptSecrets: {
      effect: 'Allow',
      actions: ['kms:Decrypt'],
      resources: [ANY_KMS_KEY],
      conditions: VIA_SECRETS_MANAGER,
      reason: 'secrets may use any customer key; only through Secrets Manager',
    },
    describeKeys: {
      effect: 'Allow',
      actions: ['kms:DescribeKey'],
      resources: [ANY_KMS_KEY],
      reason:
        'whether a secret’s key is the one its record names (kms_key_ref) and is enabled: metadata only',
    },
    scanRegistry: {
      effect: 'Allow',
      actions: ['dynamodb:Scan'],
      resources: ['{registryTable}'],
      reason: 'every record, page by page (the check never reads one record alone, so no GetItem)',
    },
    assumeBucketRoles: {
      effect: 'Allow',
      actions: ['sts:AssumeRole'],
      resources: ['{assumableRoles}'],
      reason:
        'role-mode buckets are proven by assuming the role with its external id, as the presign path does',
    },
    writeReports: {
      effect: 'Allow',
      actions: ['s3:PutObject'],
      resources: ['{reportBucket}/reports/*'],
      reason: 'one report per run and latest.json, under reports/ of its own bucket',
    },
    denySecretWrites: {
      effect: 'Deny',
      actions: SECRET_WRITE_FAMILIES,
      resources: ['*'],
      reason: 'the drift check never changes a secret, whatever another policy on the role grants',
    },
    denyUnlistedAdminSecrets: {
      effect: 'Deny',
      actions: ['secretsmanager:*'],
      resources: [`${SECRET}{prefix}${ADMIN_SECRETS_PATH}*`],
      conditions: { StringNotEquals: { 'secretsmanager:SecretId': '{adminSecrets}' } },
      reason:
        'the prefix-wide read must not reach other MinIO admin credentials; the listed ones are read by their ARN (SecretId)',
    },
    denyAdminSecrets: {
      effect: 'Deny',
      actions: ['secretsmanager:*'],
      resources: [`${SECRET}{prefix}${ADMIN_SECRETS_PATH}*`],
      reason: 'with no MinIO admin secrets listed (no rotation), nothing under the admin sub-path is read',
    },
    denyRegistryWrites: {
      effect: 'Deny',
      actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
      resources: ['{registryTable}'],
      reason: 'the drift check reports drift; it never repairs a record',
    },
  },
} as const satisfies RoleMatrix;

/**
 * Who may call which routes of the REST API. The API's resource policy allows these principals
 * and explicitly denies every other (`routeAccessStatements`): with IAM authorization, a principal
 * of the same account whose own policy allows `execute-api:Invoke` would otherwise get in.
 */
export const API_ROUTE_ACCESS = {
  presign: {
    resourcePath: '/v1/buckets/*',
    principals: 'Fence’s role ARNs (fenceRoleArns)',
  },
  admin: {
    resourcePath: '/v1/admin/*',
    principals: 'the operators’ admin role ARNs (adminRoleArns)',
  },
} as const satisfies Record<string, { resourcePath: string; principals: string }>;

/**
 * Who may read and write the drift report bucket, by its bucket policy
 * (`reportBucketStatements`): reports map every bucket's secret refs and weak spots, so only the
 * drift-check role and the admin roles read them, and only the drift-check role writes them
 * (whatever an identity policy in the account allows). Bucket-level actions stay open to IAM, so
 * the deploy role can always change the policy and root can always delete it (break-glass).
 */
export const DRIFT_REPORT_ACCESS = {
  read: {
    principals: 'the admin role ARNs (adminRoleArns), and the drift-check role',
    allowedActions: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucketVersions'],
    deniedToOthers: ['s3:GetObject*', 's3:ListBucket*'],
  },
  write: {
    principals: 'the drift-check role',
    deniedToOthers: ['s3:PutObject*', 's3:DeleteObject*', 's3:RestoreObject', 's3:ReplicateObject'],
  },
} as const;
