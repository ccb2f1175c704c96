import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildApp } from '../../lib/app';
import type { FenceBucketBrokerStack } from '../../lib/stacks/fence-bucket-broker-stack';
import { type PolicyStatement, resolveIntrinsics, roleStatements } from './iam/policy-evaluator';

export const FENCE_ROLE = 'arn:aws:iam::123456789012:role/fence-irsa';
export const ADMIN_SECRET =
  'arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/admin/minio/myminio-AbCdEf';

/** Fence DB's connection secret (an RDS-managed one, outside the prefix). */
export const FENCE_DB_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0123abcd-AbCdEf';

/** The context that deploys the scheduled registry sync. */
export const REGISTRY_SYNC_CONTEXT = {
  fenceDbSecretArn: FENCE_DB_SECRET,
  vpcId: 'vpc-0123456789abcdef0',
  vpcSubnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
} as const;

export const outdir = () => mkdtempSync(join(tmpdir(), 'fbb-cdk-'));

/** The app as `cdk synth` builds it from this context, and its template as JSON. */
export function synthesize(context: Record<string, unknown> = {}): {
  stack: FenceBucketBrokerStack;
  template: Template;
  json: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
} {
  const { stack } = buildApp({ outdir: outdir(), context: { fenceRoleArns: FENCE_ROLE, ...context } });
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() as never };
}

/** The resolved statements of every policy on a function's execution role. */
export function executionRoleStatements(
  json: Parameters<typeof roleStatements>[0],
  fn: lambda.IFunction,
): PolicyStatement[] {
  const role = fn.role as iam.Role;
  return roleStatements(json, Stack.of(role).getLogicalId(role.node.defaultChild as never));
}

/** A token (an ARN attribute, a joined string) as the evaluator sees it in the template. */
export function concrete(scope: Stack, token: string): string {
  return String(resolveIntrinsics(scope.resolve(token)));
}
