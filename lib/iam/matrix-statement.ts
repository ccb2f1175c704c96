import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import type { IamRule } from './iam-matrix';

/** What a rule's placeholders stand for: strings (tokens allowed) or lists of ARNs. */
export type PlaceholderValues = Readonly<Record<string, string | readonly string[]>>;

const PLACEHOLDER = /\{([A-Za-z]+)\}/g;

/**
 * Fills a template with `values`, plus `{partition}`, `{region}` and `{account}` of the scope's
 * stack. A template that is exactly one list placeholder yields the whole list. An unknown
 * placeholder throws, so a rule cannot silently lose a resource.
 */
export function fillTemplate(scope: IConstruct, template: string, values: PlaceholderValues): string[] {
  const stack = Stack.of(scope);
  const all: PlaceholderValues = {
    partition: stack.partition,
    region: stack.region,
    account: stack.account,
    ...values,
  };
  const whole = /^\{([A-Za-z]+)\}$/.exec(template)?.[1];
  if (whole !== undefined && Array.isArray(all[whole])) return [...(all[whole] as readonly string[])];
  return [
    template.replace(PLACEHOLDER, (_, name: string) => {
      const value = all[name];
      if (value === undefined) throw new Error(`IAM matrix: no value for {${name}} in ${template}`);
      if (typeof value !== 'string') throw new Error(`IAM matrix: list {${name}} inside ${template}`);
      return value;
    }),
  ];
}

/**
 * The policy statement of one IAM matrix rule, or undefined when the rule's resources fill to an
 * empty list (an optional grant the operator did not configure).
 */
export function matrixStatement(
  scope: IConstruct,
  rule: IamRule,
  values: PlaceholderValues,
): iam.PolicyStatement | undefined {
  const resources = rule.resources.flatMap((template) => fillTemplate(scope, template, values));
  if (resources.length === 0) return undefined;
  const conditions =
    rule.conditions === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(rule.conditions).map(([operator, block]) => [
            operator,
            Object.fromEntries(
              Object.entries(block).map(([key, template]) => {
                const filled = fillTemplate(scope, template, values);
                return [key, filled.length === 1 ? filled[0] : filled];
              }),
            ),
          ]),
        );
  return new iam.PolicyStatement({
    effect: rule.effect === 'Allow' ? iam.Effect.ALLOW : iam.Effect.DENY,
    actions: [...rule.actions],
    resources,
    conditions,
  });
}

/** Adds every rule of a role matrix that fills to at least one resource to the role's default policy. */
export function addMatrixRules(
  role: iam.IRole,
  rules: readonly IamRule[],
  values: PlaceholderValues,
): iam.PolicyStatement[] {
  const statements = rules
    .map((rule) => matrixStatement(role, rule, values))
    .filter((statement): statement is iam.PolicyStatement => statement !== undefined);
  for (const statement of statements) role.addToPrincipalPolicy(statement);
  return statements;
}
