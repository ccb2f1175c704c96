/**
 * A small IAM policy evaluator for the infra tests: wildcard matching of actions (case-insensitive)
 * and resources (case-sensitive), the condition operators the stack uses, principals of resource
 * policies, and explicit-deny precedence. It evaluates one policy set at a time (what the
 * synthesized template grants or denies), not AWS's whole chain (SCPs, boundaries, sessions).
 * Anything it does not understand throws, so a test can never pass by being misread.
 */

/** The concrete values the template's pseudo parameters stand for in the tests. */
export const TEST_ENVIRONMENT = { partition: 'aws', region: 'us-east-1', account: '123456789012' } as const;

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Principal?: '*' | Readonly<Record<string, string | readonly string[]>>;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
  /** For resource policies: the caller's ARN (a role ARN for assumed-role sessions). */
  readonly principalArn?: string;
  /**
   * Request context keys (`aws:PrincipalArn` is filled in from `principalArn`); a multi-valued key
   * (`aws:TagKeys`) as a list, or as one string standing for a list of one.
   */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

/** IAM's wildcard match: `*` any run of characters, `?` one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const escaped = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${escaped}$`, ignoreCase ? 'is' : 's').test(value);
}

const list = (value: string | readonly string[] | undefined): readonly string[] =>
  value === undefined ? [] : typeof value === 'string' ? [value] : value;

function matchesAction(statement: PolicyStatement, action: string): boolean {
  if (statement.Action !== undefined && statement.NotAction !== undefined) {
    throw new Error('statement has both Action and NotAction');
  }
  if (statement.NotAction !== undefined) {
    return !list(statement.NotAction).some((pattern) => wildcardMatch(pattern, action, true));
  }
  return list(statement.Action).some((pattern) => wildcardMatch(pattern, action, true));
}

function matchesResource(statement: PolicyStatement, resource: string): boolean {
  if (statement.NotResource !== undefined) {
    return !list(statement.NotResource).some((pattern) => wildcardMatch(pattern, resource));
  }
  if (statement.Resource === undefined) throw new Error('statement has neither Resource nor NotResource');
  return list(statement.Resource).some((pattern) => wildcardMatch(pattern, resource));
}

function matchesPrincipal(statement: PolicyStatement, principalArn: string | undefined): boolean {
  if ('NotPrincipal' in statement) throw new Error('NotPrincipal is not supported by this evaluator');
  const principal = statement.Principal;
  if (principal === undefined) return true; // identity policy: the principal is the role itself
  if (principal === '*') return true;
  const keys = Object.keys(principal);
  if (keys.some((key) => key !== 'AWS')) throw new Error(`principal types ${keys.join(', ')} not supported`);
  return list(principal.AWS).some((entry) => {
    if (entry === '*') return true;
    if (principalArn === undefined) return false;
    const account =
      /^arn:[^:]+:iam::(\d{12}):root$/.exec(entry)?.[1] ?? (/^\d{12}$/.test(entry) ? entry : undefined);
    if (account !== undefined) return principalArn.split(':')[4] === account;
    return entry === principalArn;
  });
}

const CONDITION_OPERATORS: Record<
  string,
  { negated: boolean; match: (pattern: string, value: string) => boolean }
> = {
  StringEquals: { negated: false, match: (pattern, value) => pattern === value },
  StringNotEquals: { negated: true, match: (pattern, value) => pattern === value },
  StringLike: { negated: false, match: (pattern, value) => wildcardMatch(pattern, value) },
  StringNotLike: { negated: true, match: (pattern, value) => wildcardMatch(pattern, value) },
  // IAM compares ARNs component by component with wildcards; a whole-string match is the same
  // for the ARNs these tests use (no wildcard spans a colon).
  ArnEquals: { negated: false, match: (pattern, value) => wildcardMatch(pattern, value) },
  ArnLike: { negated: false, match: (pattern, value) => wildcardMatch(pattern, value) },
  ArnNotEquals: { negated: true, match: (pattern, value) => wildcardMatch(pattern, value) },
  ArnNotLike: { negated: true, match: (pattern, value) => wildcardMatch(pattern, value) },
  Bool: { negated: false, match: (pattern, value) => pattern.toLowerCase() === value.toLowerCase() },
  // S3's `minimumTLSVersion` Deny (`s3:TlsVersion` below the minimum).
  NumericLessThan: { negated: false, match: (pattern, value) => Number(value) < Number(pattern) },
};

/** Set operators over multi-valued keys (`aws:TagKeys`): `ForAllValues:` prefixes a positive operator. */
const SET_OPERATOR = /^ForAllValues:(.+)$/;

/**
 * All operators must hold, and within one all keys. A positive operator needs the key present and
 * equal to one of the values; a negated one holds when the key is absent or equals none of them
 * (AWS's rule, which is what lets a Deny with `StringNotEquals` catch a request missing the key).
 * `ForAllValues:` holds when every value of the request's key matches one of the values, and when
 * the key is absent (AWS's rule: the empty set).
 */
function matchesConditions(
  statement: PolicyStatement,
  context: Readonly<Record<string, string | readonly string[]>>,
): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operatorName, block]) => {
    const setOf = SET_OPERATOR.exec(operatorName)?.[1];
    const operator = CONDITION_OPERATORS[setOf ?? operatorName];
    if (operator === undefined || (setOf !== undefined && operator.negated)) {
      throw new Error(`condition operator ${operatorName} not supported`);
    }
    return Object.entries(block).every(([key, values]) => {
      const actual = Object.entries(context).find(([name]) => name.toLowerCase() === key.toLowerCase())?.[1];
      const patterns = (Array.isArray(values) ? values : [values]).map(String);
      if (setOf !== undefined) {
        return [actual ?? []]
          .flat()
          .every((value) => patterns.some((pattern) => operator.match(pattern, value)));
      }
      if (typeof actual !== 'string' && actual !== undefined) {
        throw new Error(`${key} has several values: only a ForAllValues: operator reads it`);
      }
      if (actual === undefined) return operator.negated;
      // Numeric conditions hold numbers in the template (`NumericLessThan: { s3:TlsVersion: 1.2 }`).
      const any = patterns.some((pattern) => operator.match(pattern, actual));
      return operator.negated ? !any : any;
    });
  });
}

/** Evaluates one request against a set of statements: an explicit Deny wins over any Allow. */
export function evaluate(statements: readonly PolicyStatement[], request: AccessRequest): Decision {
  const context = {
    ...(request.principalArn === undefined ? {} : { 'aws:PrincipalArn': request.principalArn }),
    ...request.context,
  };
  const effects = statements
    .filter(
      (statement) =>
        matchesAction(statement, request.action) &&
        matchesResource(statement, request.resource) &&
        matchesPrincipal(statement, request.principalArn) &&
        matchesConditions(statement, context),
    )
    .map((statement) => statement.Effect);
  if (effects.includes('Deny')) return 'ExplicitDeny';
  return effects.includes('Allow') ? 'Allow' : 'ImplicitDeny';
}

/**
 * Resolves the CloudFormation intrinsics a synthesized policy contains into plain strings:
 * pseudo parameters to `TEST_ENVIRONMENT`, `Ref` of a resource to its logical id, `Fn::GetAtt` of
 * an ARN to a synthetic ARN naming the resource. The same function resolves the tokens a test
 * uses for its expectations, so both sides agree.
 */
export function resolveIntrinsics(value: unknown): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(resolveIntrinsics);
  if (value === null || typeof value !== 'object') throw new Error(`cannot resolve ${String(value)}`);
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length === 1 && key === 'Ref') {
    const pseudo: Record<string, string> = {
      'AWS::Partition': TEST_ENVIRONMENT.partition,
      'AWS::Region': TEST_ENVIRONMENT.region,
      'AWS::AccountId': TEST_ENVIRONMENT.account,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[String(argument)] ?? `ref-${String(argument)}`;
  }
  if (entries.length === 1 && key === 'Fn::GetAtt') {
    const [logicalId, attribute] = argument as [string, string];
    if (attribute !== 'Arn') return `${logicalId}.${attribute}`;
    return `arn:${TEST_ENVIRONMENT.partition}:synthetic:${TEST_ENVIRONMENT.region}:${TEST_ENVIRONMENT.account}:${logicalId}`;
  }
  if (entries.length === 1 && key === 'Fn::Join') {
    const [separator, parts] = argument as [string, unknown[]];
    return parts.map((part) => String(resolveIntrinsics(part))).join(separator);
  }
  if (key?.startsWith('Fn::')) throw new Error(`intrinsic ${key} not supported`);
  return Object.fromEntries(entries.map(([name, inner]) => [name, resolveIntrinsics(inner)]));
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/**
 * Every statement of every policy attached to a role: its inline `Policies` and each
 * `AWS::IAM::Policy` naming it, resolved. A managed policy on the role fails the call: its
 * content is not in the template, so the role could not be judged.
 */
export function roleStatements(
  template: { Resources: Record<string, TemplateResource> },
  roleLogicalId: string,
): PolicyStatement[] {
  const role = template.Resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  if (role.Properties?.ManagedPolicyArns !== undefined) {
    throw new Error(`${roleLogicalId} has managed policies, which this evaluator cannot see into`);
  }
  const documents = [
    ...((role.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map(
      (policy) => policy.PolicyDocument,
    ),
    ...Object.values(template.Resources)
      .filter(
        (resource) =>
          resource.Type === 'AWS::IAM::Policy' &&
          ((resource.Properties?.Roles as unknown[] | undefined) ?? []).some(
            (ref) => (ref as { Ref?: string }).Ref === roleLogicalId,
          ),
      )
      .map((resource) => resource.Properties?.PolicyDocument),
  ];
  return documents.flatMap(
    (document) => (resolveIntrinsics(document) as { Statement: PolicyStatement[] }).Statement,
  );
}
