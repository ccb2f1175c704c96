import type { Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { IAM_ROTATION_TAG } from '../../../functions/shared/rotation/iam-rotation-secret';
import {
  ADMIN_MATRIX,
  BROKER_FUNCTION_MATRIX,
  DRIFT_CHECK_MATRIX,
  IAM_KEY_ROTATION_MATRIX,
  type IamRule,
  PRESIGN_RUNTIME_MATRIX,
  ROTATION_MATRIX,
  type RoleMatrix,
  SYNC_MATRIX,
  VPC_NETWORK_MATRIX,
} from '../../../lib/iam/iam-matrix';
import {
  ADMIN_SECRET,
  concrete,
  executionRoleStatements,
  FENCE_DB_SECRET,
  REGISTRY_SYNC_CONTEXT,
  synthesize,
} from '../synthesized-stack';
import {
  type AccessRequest,
  evaluate,
  type PolicyStatement,
  TEST_ENVIRONMENT,
  wildcardMatch,
} from './policy-evaluator';
import { SECRETS_MANAGER_ACTIONS } from './secretsmanager-actions';

const PREFIX = 'gen3/fence/';
const BUCKET_ROLE = 'arn:aws:iam::210987654321:role/gen3-bucket-access';
const SAMPLE = 'sample/name-AbCdEf';
const account = TEST_ENVIRONMENT.account;

/** Fills a matrix template with concrete values, independently of the constructs' own filling. */
function fill(template: string, values: Record<string, string | string[]>): string[] {
  const all: Record<string, string | string[]> = { ...TEST_ENVIRONMENT, prefix: PREFIX, ...values };
  const whole = /^\{(\w+)\}$/.exec(template)?.[1];
  if (whole !== undefined && Array.isArray(all[whole])) return all[whole] as string[];
  return [
    template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = all[name];
      if (typeof value !== 'string') throw new Error(`no single value for {${name}}`);
      return value;
    }),
  ];
}

function filledConditions(rule: IamRule, values: Record<string, string | string[]>) {
  if (rule.conditions === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(rule.conditions).map(([operator, block]) => [
      operator,
      Object.fromEntries(Object.entries(block).map(([key, template]) => [key, fill(template, values)[0]])),
    ]),
  );
}

/** Concrete actions a rule's action pattern stands for: wildcards expand over Secrets Manager's list. */
function concreteActions(pattern: string): string[] {
  if (!/[*?]/.test(pattern)) return [pattern];
  if (!pattern.startsWith('secretsmanager:')) throw new Error(`no action list to expand ${pattern}`);
  return Object.keys(SECRETS_MANAGER_ACTIONS)
    .map((name) => `secretsmanager:${name}`)
    .filter((action) => wildcardMatch(pattern, action, true));
}

const NEGATED = /Not/;

/**
 * The requests a rule speaks about: each concrete action on a sample of each resource pattern.
 * The request context satisfies the rule's positive conditions; a negated condition (a Deny's
 * `StringNotEquals`) is met by the sample itself. Secrets Manager requests name their secret by
 * ARN in `secretsmanager:SecretId`, as the broker's calls do.
 */
function requestsOf(rule: IamRule, values: Record<string, string | string[]>): AccessRequest[] {
  const context = Object.fromEntries(
    Object.entries(filledConditions(rule, values) ?? {})
      .filter(([operator]) => !NEGATED.test(operator))
      .flatMap(([, block]) => Object.entries(block)),
  ) as Record<string, string>;
  return rule.actions.flatMap(concreteActions).flatMap((action) =>
    rule.resources
      .flatMap((template) => fill(template, values))
      .map((resource) => resource.replaceAll('*', SAMPLE))
      .map((resource) => ({
        action,
        resource,
        context: action.startsWith('secretsmanager:')
          ? { 'secretsmanager:SecretId': resource, ...context }
          : context,
      })),
  );
}

interface RoleUnderTest {
  readonly matrices: readonly RoleMatrix[];
  readonly statements: PolicyStatement[];
  readonly values: Record<string, string | string[]>;
  /** Requests the role must not be allowed, whatever the matrix says elsewhere. */
  readonly notAllowed: readonly AccessRequest[];
  /** Rules of its matrices this deployment leaves out (the construct picks one of two). */
  readonly absentRules?: readonly string[];
}

function presignRole(): RoleUnderTest {
  const { stack, json } = synthesize({ assumableRoleArns: BUCKET_ROLE });
  const fn = stack.presignApi.function;
  const registryTable = concrete(stack, stack.registry.table.tableArn);
  return {
    matrices: [BROKER_FUNCTION_MATRIX, PRESIGN_RUNTIME_MATRIX],
    statements: executionRoleStatements(json, fn),
    values: { ...functionValues(stack, fn), registryTable, assumableRoles: [BUCKET_ROLE] },
    notAllowed: [
      ...[
        'dynamodb:PutItem',
        'dynamodb:Scan',
        'dynamodb:Query',
        'dynamodb:DeleteItem',
        'dynamodb:UpdateItem',
      ].map((action) => ({ action, resource: registryTable })),
      { action: 'dynamodb:GetItem', resource: `${registryTable}/index/by-id` },
      {
        action: 'secretsmanager:GetSecretValue',
        resource: `arn:aws:secretsmanager:us-east-1:${account}:secret:${SAMPLE}`,
      },
      { action: 'secretsmanager:ListSecrets', resource: '*' },
      { action: 'sts:AssumeRole', resource: `arn:aws:iam::${account}:role/unlisted` },
      { action: 'kms:Decrypt', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
      {
        action: 'kms:Decrypt',
        resource: `arn:aws:kms:us-east-1:${account}:key/k`,
        context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
      },
      { action: 'kms:GenerateDataKey', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::any-bucket/key' },
      { action: 'lambda:InvokeFunction', resource: concrete(stack, fn.functionArn) },
      { action: 'iam:PassRole', resource: `arn:aws:iam::${account}:role/any` },
      { action: 'logs:PutLogEvents', resource: `arn:aws:logs:us-east-1:${account}:log-group:other` },
      ...NO_NETWORK,
    ],
  };
}

function rotationRole(): RoleUnderTest {
  const { stack, json } = synthesize({
    minioAdminSecretArns: ADMIN_SECRET,
    rotatedMinioSecrets: 'gen3/fence/minio/dataset',
  });
  const fn = stack.rotation!.function;
  const registryTable = concrete(stack, stack.registry.table.tableArn);
  const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${account}:secret:${name}-AbCdEf`;
  const otherFunction = `arn:aws:lambda:us-east-1:${account}:function:other-rotation`;
  return {
    matrices: [BROKER_FUNCTION_MATRIX, ROTATION_MATRIX],
    statements: executionRoleStatements(json, fn),
    values: {
      ...functionValues(stack, fn),
      registryTable,
      adminSecrets: [ADMIN_SECRET],
      rotationFunction: concrete(stack, fn.functionArn),
    },
    notAllowed: [
      ...[
        'secretsmanager:PutSecretValue',
        'secretsmanager:GetSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ].map((action) => ({
        action,
        resource: secret('gen3/fence/minio/dataset'),
        context: { 'secretsmanager:resource/AllowRotationLambdaArn': otherFunction },
      })),
      { action: 'secretsmanager:PutSecretValue', resource: secret('gen3/fence/minio/dataset') },
      { action: 'secretsmanager:GetSecretValue', resource: secret('gen3/fence/admin/minio/another') },
      { action: 'secretsmanager:GetSecretValue', resource: secret('gen3/fence/minio/dataset') },
      { action: 'secretsmanager:GetRandomPassword', resource: '*' },
      { action: 'secretsmanager:ListSecrets', resource: '*' },
      ...['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:DeleteItem'].map((action) => ({
        action,
        resource: registryTable,
      })),
      { action: 'sts:AssumeRole', resource: `arn:aws:iam::${account}:role/unlisted` },
      { action: 'kms:Decrypt', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
      { action: 'lambda:InvokeFunction', resource: otherFunction },
      ...NO_NETWORK,
    ],
  };
}

function iamKeyRotationRole(): RoleUnderTest {
  const { stack, json } = synthesize({
    rotatedIamUserPath: '/gen3-buckets/',
    'aws:cdk:bundling-stacks': [],
  });
  const fn = stack.iamKeyRotation!.function;
  const registryTable = concrete(stack, stack.registry.table.tableArn);
  const rotationFunction = concrete(stack, fn.functionArn);
  const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${account}:secret:${name}-AbCdEf`;
  const user = (path: string) => `arn:aws:iam::${account}:user${path}`;
  const tag = `secretsmanager:ResourceTag/${IAM_ROTATION_TAG.key}`;
  // What Secrets Manager sees on a secret marked for this rotation: the tag, and this function as its Lambda.
  const marked = {
    [tag]: IAM_ROTATION_TAG.value,
    'secretsmanager:resource/AllowRotationLambdaArn': rotationFunction,
  };
  const rotationSteps = [
    'secretsmanager:GetSecretValue',
    'secretsmanager:PutSecretValue',
    'secretsmanager:UpdateSecretVersionStage',
  ];
  return {
    matrices: [BROKER_FUNCTION_MATRIX, IAM_KEY_ROTATION_MATRIX],
    statements: executionRoleStatements(json, fn),
    values: {
      ...functionValues(stack, fn),
      registryTable,
      rotationFunction,
      rotatedUserPath: '/gen3-buckets/',
    },
    notAllowed: [
      // IAM: keys of users on another path, the root path, a path that only begins alike, another account.
      ...['iam:CreateAccessKey', 'iam:ListAccessKeys', 'iam:UpdateAccessKey', 'iam:DeleteAccessKey'].flatMap(
        (action) =>
          [
            user('/operators/alice'),
            user('/alice'),
            user('/gen3-buckets-admin/bob'),
            'arn:aws:iam::210987654321:user/gen3-buckets/reader',
          ].map((resource) => ({ action, resource })),
      ),
      { action: 'iam:GetUser', resource: user('/operators/alice') },
      // User tags: the broker's own keys only, on the path's users only.
      ...[['team'], ['fence-bucket-broker:creating', 'team']].flatMap((keys) =>
        ['iam:TagUser', 'iam:UntagUser'].map((action) => ({
          action,
          resource: user('/gen3-buckets/reader'),
          context: { 'aws:TagKeys': keys },
        })),
      ),
      {
        action: 'iam:TagUser',
        resource: user('/operators/alice'),
        context: { 'aws:TagKeys': ['fence-bucket-broker:creating'] },
      },
      // Nothing else in IAM, on the path's own users either.
      ...[
        'iam:CreateUser',
        'iam:AttachUserPolicy',
        'iam:PutUserPolicy',
        'iam:CreateLoginProfile',
        'iam:UpdateLoginProfile',
        'iam:AddUserToGroup',
        'iam:UpdateUser',
        'iam:GetAccessKeyLastUsed',
        'iam:CreateServiceSpecificCredential',
      ].map((action) => ({ action, resource: user('/gen3-buckets/reader') })),
      { action: 'iam:ListUsers', resource: '*' },
      { action: 'iam:PassRole', resource: `arn:aws:iam::${account}:role/any` },
      { action: 'iam:CreateAccessKey', resource: `arn:aws:iam::${account}:role/any` },
      // Secrets: not without the tag, not with another tag value, not naming another Lambda, not
      // outside the prefix, not under its admin/ sub-path.
      ...rotationSteps.flatMap((action) => [
        {
          action,
          resource: secret('gen3/fence/aws/dataset'),
          context: { 'secretsmanager:resource/AllowRotationLambdaArn': rotationFunction },
        },
        { action, resource: secret('gen3/fence/aws/dataset'), context: { ...marked, [tag]: 'minio-key' } },
        {
          action,
          resource: secret('gen3/fence/aws/dataset'),
          context: {
            ...marked,
            'secretsmanager:resource/AllowRotationLambdaArn': `arn:aws:lambda:us-east-1:${account}:function:other`,
          },
        },
        { action, resource: secret('elsewhere/aws/dataset'), context: marked },
        { action, resource: secret('gen3/fence/admin/minio/myminio'), context: marked },
      ]),
      ...['secretsmanager:TagResource', 'secretsmanager:UntagResource', 'secretsmanager:UpdateSecret'].map(
        (action) => ({ action, resource: secret('gen3/fence/aws/dataset'), context: marked }),
      ),
      { action: 'secretsmanager:GetRandomPassword', resource: '*' },
      { action: 'secretsmanager:ListSecrets', resource: '*' },
      // S3: none (testSecret proves the new key with the key's own credentials).
      ...['s3:GetObject', 's3:PutObject', 's3:ListBucket'].map((action) => ({
        action,
        resource: 'arn:aws:s3:::gen3-data/object',
      })),
      ...['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:DeleteItem'].map((action) => ({
        action,
        resource: registryTable,
      })),
      { action: 'sts:AssumeRole', resource: `arn:aws:iam::${account}:role/unlisted` },
      { action: 'kms:Decrypt', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
      { action: 'lambda:InvokeFunction', resource: rotationFunction },
      ...NO_NETWORK,
    ],
  };
}

const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/gen3-admin';

function adminRole(inFenceDbVpc: boolean): () => RoleUnderTest {
  return () => adminRoleWith(inFenceDbVpc);
}

function adminRoleWith(inFenceDbVpc: boolean): RoleUnderTest {
  // With Fence DB as the registry of record, every admin rule has something to speak about.
  const { stack, json } = synthesize({
    adminRoleArns: ADMIN_ROLE,
    assumableRoleArns: BUCKET_ROLE,
    ...(inFenceDbVpc ? REGISTRY_SYNC_CONTEXT : {}),
  });
  const fn = stack.adminApi!.function;
  const registryTable = concrete(stack, stack.registry.table.tableArn);
  const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${account}:secret:${name}-AbCdEf`;
  return {
    matrices: inFenceDbVpc
      ? [BROKER_FUNCTION_MATRIX, VPC_NETWORK_MATRIX, ADMIN_MATRIX]
      : [BROKER_FUNCTION_MATRIX, ADMIN_MATRIX],
    statements: executionRoleStatements(json, fn),
    values: {
      ...functionValues(stack, fn),
      ...(inFenceDbVpc ? networkValues(stack, fn) : {}),
      registryTable,
      assumableRoles: [BUCKET_ROLE],
      fenceDbSecret: inFenceDbVpc ? [REGISTRY_SYNC_CONTEXT.fenceDbSecretArn] : [],
    },
    absentRules: inFenceDbVpc ? [] : ['readFenceDbSecret'],
    notAllowed: [
      // Nothing outside the prefix, and nothing of the MinIO admin credentials inside it.
      ...[
        'secretsmanager:CreateSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ].flatMap((action) => [
        { action, resource: secret('elsewhere/name') },
        { action, resource: secret('gen3/fence/admin/minio/myminio') },
      ]),
      {
        action: 'secretsmanager:DeleteSecret',
        resource: secret('gen3/fence/minio/dataset'),
        context: { 'secretsmanager:ForceDeleteWithoutRecovery': 'true' },
      },
      { action: 'secretsmanager:PutResourcePolicy', resource: secret('gen3/fence/minio/dataset') },
      { action: 'secretsmanager:UpdateSecretVersionStage', resource: secret('gen3/fence/minio/dataset') },
      // No code of the admin function writes a value into an existing secret, and with RotateSecret a
      // put value could re-point a rotated secret's parent user.
      { action: 'secretsmanager:PutSecretValue', resource: secret('gen3/fence/minio/dataset') },
      { action: 'secretsmanager:ListSecrets', resource: '*' },
      { action: 'dynamodb:DeleteItem', resource: registryTable },
      { action: 'dynamodb:UpdateTable', resource: registryTable },
      { action: 'dynamodb:DeleteTable', resource: registryTable },
      { action: 'sts:AssumeRole', resource: `arn:aws:iam::${account}:role/unlisted` },
      { action: 'kms:Decrypt', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
      { action: 'kms:CreateGrant', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
      { action: 'lambda:InvokeFunction', resource: concrete(stack, stack.presignApi.function.functionArn) },
      { action: 'iam:PassRole', resource: `arn:aws:iam::${account}:role/any` },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::any-bucket/key' },
      ...(inFenceDbVpc ? NETWORK_NOT_ALLOWED : NO_NETWORK),
    ],
  };
}

function syncRole(): RoleUnderTest {
  const { stack, json } = synthesize(REGISTRY_SYNC_CONTEXT);
  const fn = stack.registrySync!.function;
  const registryTable = concrete(stack, stack.registry.table.tableArn);
  const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${account}:secret:${name}-AbCdEf`;
  return {
    matrices: [BROKER_FUNCTION_MATRIX, VPC_NETWORK_MATRIX, SYNC_MATRIX],
    statements: executionRoleStatements(json, fn),
    values: {
      ...functionValues(stack, fn),
      ...networkValues(stack, fn),
      registryTable,
      fenceDbSecret: FENCE_DB_SECRET,
    },
    notAllowed: [
      // Its one secret, read only: no other database's, no bucket's, no MinIO admin's.
      ...['rds!db-another', 'gen3/fence/minio/dataset', 'gen3/fence/admin/minio/myminio'].map((name) => ({
        action: 'secretsmanager:GetSecretValue',
        resource: secret(name),
      })),
      ...[
        'secretsmanager:DescribeSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:RotateSecret',
      ].map((action) => ({ action, resource: FENCE_DB_SECRET })),
      { action: 'secretsmanager:ListSecrets', resource: '*' },
      ...[
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'dynamodb:UpdateTable',
        'dynamodb:DeleteTable',
      ].map((action) => ({ action, resource: registryTable })),
      { action: 'dynamodb:Query', resource: `${registryTable}/index/by-id` },
      { action: 'dynamodb:PutItem', resource: `arn:aws:dynamodb:us-east-1:${account}:table/other` },
      { action: 'kms:Decrypt', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
      { action: 'kms:GenerateDataKey', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
      { action: 'sts:AssumeRole', resource: `arn:aws:iam::${account}:role/gen3-bucket-access` },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::any-bucket/key' },
      { action: 'lambda:InvokeFunction', resource: concrete(stack, stack.presignApi.function.functionArn) },
      { action: 'iam:PassRole', resource: `arn:aws:iam::${account}:role/any` },
      ...NETWORK_NOT_ALLOWED,
    ],
  };
}

function driftCheckRole(withAdminSecrets: boolean): () => RoleUnderTest {
  return () => {
    const { stack, json } = synthesize({
      assumableRoleArns: BUCKET_ROLE,
      ...(withAdminSecrets ? { minioAdminSecretArns: ADMIN_SECRET } : {}),
    });
    const fn = stack.driftCheck.function;
    const registryTable = concrete(stack, stack.registry.table.tableArn);
    const reportBucket = concrete(stack, stack.driftCheck.reports.bucket.bucketArn);
    const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${account}:secret:${name}-AbCdEf`;
    const read = (resource: string) => ({
      action: 'secretsmanager:GetSecretValue',
      resource,
      context: { 'secretsmanager:SecretId': resource },
    });
    return {
      matrices: [BROKER_FUNCTION_MATRIX, DRIFT_CHECK_MATRIX],
      statements: executionRoleStatements(json, fn),
      values: {
        ...functionValues(stack, fn),
        registryTable,
        reportBucket,
        assumableRoles: [BUCKET_ROLE],
        adminSecrets: withAdminSecrets ? [ADMIN_SECRET] : [],
      },
      absentRules: withAdminSecrets ? ['denyAdminSecrets'] : ['denyUnlistedAdminSecrets', 'readAdminSecrets'],
      notAllowed: [
        // Secrets: no write of any kind, nothing outside the prefix, no other admin secret.
        ...[
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecret',
          'secretsmanager:PutResourcePolicy',
        ].map((action) => ({ action, resource: secret('gen3/fence/minio/dataset') })),
        read(secret('elsewhere/name')),
        read(secret('gen3/fence/admin/minio/another')),
        // The listed admin secret named by something other than its full ARN is refused too.
        { ...read(ADMIN_SECRET), context: { 'secretsmanager:SecretId': 'gen3/fence/admin/minio/myminio' } },
        ...(withAdminSecrets ? [] : [read(ADMIN_SECRET)]),
        { action: 'secretsmanager:ListSecrets', resource: '*' },
        // Registry: reads of every record only.
        ...[
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:Query',
        ].map((action) => ({ action, resource: registryTable })),
        // Reports: new objects under reports/ of its bucket only; no reads, deletes or other buckets.
        { action: 's3:PutObject', resource: `${reportBucket}/elsewhere.json` },
        { action: 's3:GetObject', resource: `${reportBucket}/reports/latest.json` },
        { action: 's3:DeleteObject', resource: `${reportBucket}/reports/latest.json` },
        { action: 's3:PutObject', resource: 'arn:aws:s3:::another-bucket/reports/x.json' },
        { action: 's3:PutBucketPolicy', resource: reportBucket },
        // KMS: metadata, and decryption through Secrets Manager only.
        { action: 'kms:Decrypt', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
        { action: 'kms:DisableKey', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
        { action: 'kms:GenerateDataKey', resource: `arn:aws:kms:us-east-1:${account}:key/k` },
        { action: 'sts:AssumeRole', resource: `arn:aws:iam::${account}:role/unlisted` },
        { action: 'cloudwatch:PutMetricData', resource: '*' },
        { action: 'lambda:InvokeFunction', resource: concrete(stack, stack.presignApi.function.functionArn) },
        { action: 'iam:PassRole', resource: `arn:aws:iam::${account}:role/any` },
        // IAM: none. key_age ages a static key by its secret version's creation date, not by
        // iam:ListAccessKeys; an IAM-rotated secret is held to its schedule by Secrets Manager's own
        // rotation state.
        ...['iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed', 'iam:GetUser'].map((action) => ({
          action,
          resource: `arn:aws:iam::${account}:user/gen3-buckets/gen3-reader`,
        })),
        ...NO_NETWORK,
      ],
    };
  };
}

const ENI = `arn:aws:ec2:us-east-1:${account}:network-interface/eni-0123456789abcdef0`;

/** The VPC placeholders of a function in Fence DB's VPC: its subnets and security groups, as ARNs. */
function networkValues(stack: Stack, fn: lambda.Function): Record<string, string[]> {
  return {
    subnets: REGISTRY_SYNC_CONTEXT.vpcSubnetIds
      .split(',')
      .map((id) => `arn:aws:ec2:us-east-1:${account}:subnet/${id}`),
    securityGroups: fn.connections.securityGroups.map(
      (group) => `arn:aws:ec2:us-east-1:${account}:security-group/${concrete(stack, group.securityGroupId)}`,
    ),
  };
}

/** What a function in a VPC must still not do on the network: other subnets, groups, accounts. */
const NETWORK_NOT_ALLOWED: AccessRequest[] = [
  {
    action: 'ec2:CreateNetworkInterface',
    resource: `arn:aws:ec2:us-east-1:${account}:subnet/subnet-0000000000000000f`,
  },
  {
    action: 'ec2:CreateNetworkInterface',
    resource: `arn:aws:ec2:us-east-1:${account}:security-group/sg-0000000000000000f`,
  },
  {
    action: 'ec2:DeleteNetworkInterface',
    resource: 'arn:aws:ec2:us-east-1:210987654321:network-interface/eni-1',
  },
  {
    action: 'ec2:DeleteNetworkInterface',
    resource: `arn:aws:ec2:eu-west-1:${account}:network-interface/eni-1`,
  },
  { action: 'ec2:ModifyNetworkInterfaceAttribute', resource: ENI },
  { action: 'ec2:AttachNetworkInterface', resource: ENI },
  { action: 'ec2:CreateTags', resource: ENI },
  {
    action: 'ec2:AuthorizeSecurityGroupEgress',
    resource: `arn:aws:ec2:us-east-1:${account}:security-group/sg-1`,
  },
  { action: 'ec2:RunInstances', resource: '*' },
];

/** A function outside any VPC may not touch a network interface at all. */
const NO_NETWORK: AccessRequest[] = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
].flatMap((action) => [
  { action, resource: '*' },
  { action, resource: ENI },
]);

function functionValues(stack: Stack, fn: { logGroup: logs.ILogGroup }): Record<string, string> {
  return { logGroup: concrete(stack, fn.logGroup.logGroupArn) };
}

describe.each([
  ['presign runtime', presignRole],
  ['rotation', rotationRole],
  ['IAM user-key rotation', iamKeyRotationRole],
  ['admin (in Fence DB’s VPC)', adminRole(true)],
  ['admin (no VPC)', adminRole(false)],
  ['sync', syncRole],
  ['drift-check (with MinIO admin secrets)', driftCheckRole(true)],
  ['drift-check (without)', driftCheckRole(false)],
])('IAM matrix: %s role', (_, build) => {
  const role = build();
  const rules = role.matrices
    .flatMap((matrix) => Object.entries(matrix.rules) as [string, IamRule][])
    .filter(([name]) => !(role.absentRules ?? []).includes(name));

  it.each(rules.filter(([, rule]) => rule.effect === 'Allow'))('allows %s', (_, rule) => {
    // Act
    const requests = requestsOf(rule, role.values);
    const decisions = requests.map((request) => [
      request.action,
      request.resource,
      evaluate(role.statements, request),
    ]);

    // Assess
    expect(requests.length).toBeGreaterThan(0);
    expect(rule.actions.filter((action) => /[*?]/.test(action))).toEqual([]);
    expect(decisions).toEqual(requests.map((request) => [request.action, request.resource, 'Allow']));
  });

  it.each(rules.filter(([, rule]) => rule.effect === 'Deny'))('denies %s explicitly', (_, rule) => {
    // Act
    const requests = requestsOf(rule, role.values);
    const decisions = requests.map((request) => [
      request.action,
      request.resource,
      evaluate(role.statements, request),
    ]);

    // Assess
    expect(rule.actions.filter((pattern) => concreteActions(pattern).length === 0)).toEqual([]);
    expect(decisions).toEqual(requests.map((request) => [request.action, request.resource, 'ExplicitDeny']));
  });

  it('allows nothing the matrix does not state', () => {
    // Prepare
    const allowRules = rules.filter(([, rule]) => rule.effect === 'Allow').map(([, rule]) => rule);
    const covered = (statement: PolicyStatement, action: string, resource: string) =>
      allowRules.some(
        (rule) =>
          rule.actions.some((pattern) => wildcardMatch(pattern, action, true)) &&
          rule.resources
            .flatMap((template) => fill(template, role.values))
            .some((pattern) => wildcardMatch(pattern, resource)) &&
          JSON.stringify(filledConditions(rule, role.values)) === JSON.stringify(statement.Condition),
      );

    // Act
    const uncovered = role.statements
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap((statement) => {
        if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
          return [{ action: 'NotAction or NotResource', resource: JSON.stringify(statement) }];
        }
        return [statement.Action ?? []].flat().flatMap((action) =>
          [statement.Resource ?? []]
            .flat()
            .filter((resource) => !covered(statement, action, resource))
            .map((resource) => ({ action, resource })),
        );
      });

    // Assess
    expect(uncovered).toEqual([]);
  });

  it('allows none of a list of other actions', () => {
    const allowed = role.notAllowed.filter((request) => evaluate(role.statements, request) === 'Allow');
    expect(allowed).toEqual([]);
  });
});
