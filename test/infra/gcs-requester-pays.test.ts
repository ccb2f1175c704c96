import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildApp } from '../../lib/app';
import { FENCE_ROLE, outdir } from './synthesized-stack';

const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/broker-admin';

function build(context: Record<string, unknown>) {
  return buildApp({
    outdir: outdir(),
    context: { fenceRoleArns: FENCE_ROLE, adminRoleArns: ADMIN_ROLE, ...context },
  });
}

function environmentOf(template: Template, fn: lambda.Function): Record<string, unknown> {
  const id = Stack.of(fn).getLogicalId(fn.node.defaultChild as never);
  return template.toJSON().Resources[id].Properties.Environment.Variables;
}

describe('Stack: the project billed for requester-pays GCS buckets', () => {
  it('gives -c gcpRequesterPaysProject to the presign function only, and nothing without it', () => {
    // Act
    const configured = build({ gcpRequesterPaysProject: 'gen3-billing' }).stack;
    const unset = build({}).stack;
    const template = Template.fromStack(configured);

    // Assess
    expect(environmentOf(template, configured.presignApi.function).GCP_REQUESTER_PAYS_PROJECT).toBe(
      'gen3-billing',
    );
    const admin = configured.adminApi?.function;
    if (admin === undefined) throw new Error('the stack has no admin function');
    expect(environmentOf(template, admin).GCP_REQUESTER_PAYS_PROJECT).toBeUndefined();
    expect(
      environmentOf(Template.fromStack(unset), unset.presignApi.function).GCP_REQUESTER_PAYS_PROJECT,
    ).toBeUndefined();
  });

  it('refuses at synth a value that is not a GCP project id, as the function would at cold start', () => {
    expect(() => build({ gcpRequesterPaysProject: 'Not_A_Project' })).toThrow(/GCP_REQUESTER_PAYS_PROJECT/);
  });
});
