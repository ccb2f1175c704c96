/**
 * Every IAM action of AWS Secrets Manager with its access level, from AWS's Service Authorization
 * Reference ("Actions, resources, and condition keys for AWS Secrets Manager",
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html)
 * and the Secrets Manager API reference, as read for issue 7.
 *
 * The three cross-account replication actions (AssociateCrossAccountReplica,
 * DisassociateCrossAccountReplica, AcceptCrossAccountReplication) are newer than the API
 * operations the SDK in this repository ships; their pages say they link, unlink and accept
 * replicas (they change the secret's replication metadata), so they are listed as Write. They are
 * the reason the runtime role denies by action family: a list of names written before them would
 * have missed them.
 */
export const SECRETS_MANAGER_ACTIONS = {
  AcceptCrossAccountReplication: 'Write',
  AssociateCrossAccountReplica: 'Write',
  BatchGetSecretValue: 'Read',
  CancelRotateSecret: 'Write',
  CreateSecret: 'Write',
  DeleteResourcePolicy: 'Permissions management',
  DeleteSecret: 'Write',
  DescribeSecret: 'Read',
  DisassociateCrossAccountReplica: 'Write',
  GetRandomPassword: 'Read',
  GetResourcePolicy: 'Read',
  GetSecretValue: 'Read',
  ListSecretVersionIds: 'Read',
  ListSecrets: 'List',
  PutResourcePolicy: 'Permissions management',
  PutSecretValue: 'Write',
  RemoveRegionsFromReplication: 'Write',
  ReplicateSecretToRegions: 'Write',
  RestoreSecret: 'Write',
  RotateSecret: 'Write',
  StopReplicationToReplica: 'Write',
  TagResource: 'Tagging',
  UntagResource: 'Tagging',
  UpdateSecret: 'Write',
  UpdateSecretVersionStage: 'Write',
  ValidateResourcePolicy: 'Permissions management',
} as const;

export type AccessLevel = (typeof SECRETS_MANAGER_ACTIONS)[keyof typeof SECRETS_MANAGER_ACTIONS];

/** `secretsmanager:<Action>` for every action of the given access levels. */
export function secretsManagerActions(...levels: AccessLevel[]): string[] {
  return Object.entries(SECRETS_MANAGER_ACTIONS)
    .filter(([, level]) => levels.includes(level))
    .map(([name]) => `secretsmanager:${name}`);
}
