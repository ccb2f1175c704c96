/**
 * Who a caller is, in the form IAM policies name principals. API Gateway reports an assumed
 * role's caller as `arn:aws:sts::<account>:assumed-role/<role>/<session>`, while operators name
 * it `arn:aws:iam::<account>:role/<path>/<role>`; both reduce to the same identity (role paths
 * are not part of an assumed-role ARN, so the role name and account decide).
 */
export function principalIdentity(arn: string): string | undefined {
  const match = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(.+)$/.exec(arn);
  if (match === null) return undefined;
  const [, partition, service, account, resource = ''] = match;
  if (resource === 'root') return `${partition}:${account}:root`;
  const [type, ...rest] = resource.split('/');
  if (service === 'sts' && type === 'assumed-role' && rest.length >= 2) {
    return `${partition}:${account}:role:${rest[0]}`;
  }
  if (service === 'iam' && (type === 'role' || type === 'user') && rest.length >= 1) {
    return `${partition}:${account}:${type}:${rest.at(-1)}`;
  }
  return undefined;
}

/** Whether `callerArn` is one of `allowedArns` (roles match their sessions). */
export function isAllowedCaller(
  callerArn: string | null | undefined,
  allowedArns: readonly string[],
): boolean {
  if (!callerArn) return false;
  const caller = principalIdentity(callerArn);
  if (caller === undefined) return false;
  return allowedArns.some((allowed) => principalIdentity(allowed) === caller);
}
