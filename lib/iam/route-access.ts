import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * The resource-policy statements that give a group of API routes to a list of principals: an
 * Allow for them and an explicit Deny for every principal whose `aws:PrincipalArn` is not one of
 * them. The Allow alone does not keep anyone out: in the same account, a principal whose own IAM
 * policy allows `execute-api:Invoke` is admitted when either policy allows. The Deny also catches
 * callers without a principal ARN (a negated condition holds when its key is absent).
 *
 * @param resourcePath the routes, e.g. `/v1/buckets/*` (any stage, any method)
 */
export function routeAccessStatements(
  resourcePath: string,
  principalArns: readonly string[],
): iam.PolicyStatement[] {
  if (principalArns.length === 0) throw new Error(`no principal may call ${resourcePath}: name at least one`);
  const resource = `execute-api:/*/*${resourcePath}`;
  return [
    new iam.PolicyStatement({
      actions: ['execute-api:Invoke'],
      principals: principalArns.map((arn) => new iam.ArnPrincipal(arn)),
      resources: [resource],
    }),
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      actions: ['execute-api:Invoke'],
      principals: [new iam.AnyPrincipal()],
      resources: [resource],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': [...principalArns] } },
    }),
  ];
}
