/**
 * What is wrong with a secret's resource policy, for the drift check: every Allow statement must
 * name principals of the secret's own account, and a principal outside it (another account, a
 * service, a federated identity) needs a condition that narrows it. A wildcard principal, or an
 * Allow with `NotPrincipal`, is always a finding. Deny statements narrow access and are never
 * one. Findings name statements and principals, which are not secret.
 */
export function resourcePolicyFindings(policyText: string | undefined, accountId: string): string[] {
  if (policyText === undefined || policyText.trim() === '') return [];
  let policy: unknown;
  try {
    policy = JSON.parse(policyText);
  } catch {
    return ['the resource policy is not valid JSON'];
  }
  const statements = (policy as { Statement?: unknown } | null)?.Statement;
  const list = Array.isArray(statements) ? statements : statements === undefined ? [] : [statements];
  const findings: string[] = [];
  list.forEach((raw, index) => {
    const statement = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (statement.Effect !== 'Allow') return;
    const label = typeof statement.Sid === 'string' && statement.Sid !== '' ? statement.Sid : `#${index + 1}`;
    const conditioned =
      typeof statement.Condition === 'object' &&
      statement.Condition !== null &&
      Object.keys(statement.Condition).length > 0;
    if (statement.NotPrincipal !== undefined) {
      findings.push(`statement ${label} allows every principal but those it names (NotPrincipal)`);
      return;
    }
    for (const [type, principal] of principalsOf(statement.Principal)) {
      if (principal === '*') {
        findings.push(`statement ${label} grants a wildcard principal`);
        continue;
      }
      if (conditioned) continue;
      if (type === 'AWS') {
        const account = accountOf(principal);
        if (account === accountId) continue;
        findings.push(
          account === undefined
            ? `statement ${label} grants ${principal}, which is not tied to an account, without a condition`
            : `statement ${label} grants ${principal} of account ${account} without a condition`,
        );
      } else if (type === 'Service') {
        findings.push(
          `statement ${label} grants service ${principal} without a condition (aws:SourceAccount or aws:SourceArn)`,
        );
      } else {
        findings.push(`statement ${label} grants ${type} principal ${principal} without a condition`);
      }
    }
  });
  return findings;
}

/** `"*"`, `{ "AWS": "..." }`, `{ "AWS": [...], "Service": ... }` as [type, principal] pairs. */
function principalsOf(principal: unknown): [string, string][] {
  if (principal === '*') return [['AWS', '*']];
  if (typeof principal !== 'object' || principal === null) return [];
  return Object.entries(principal).flatMap(([type, value]) =>
    (Array.isArray(value) ? value : [value]).map((entry): [string, string] => [type, String(entry)]),
  );
}

/** The account of `123456789012`, `arn:aws:iam::123456789012:role/x` or an STS ARN. */
function accountOf(principal: string): string | undefined {
  if (/^\d{12}$/.test(principal)) return principal;
  return /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(principal)?.[1];
}

/** The account in a secret's ARN (`arn:aws:secretsmanager:region:account:secret:name`). */
export function accountOfArn(arn: string): string | undefined {
  return /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(arn)?.[1];
}
