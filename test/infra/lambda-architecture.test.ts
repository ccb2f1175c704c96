import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { ALL_FEATURES_CONTEXT, synthesizeDeployment } from '../deployed/support/deployed-template';
import { outdir } from './synthesized-stack';

/** The template without each function's `Architectures`: what must not depend on the architecture. */
function withoutArchitectures(template: {
  Resources: Record<string, { Type: string; Properties?: object }>;
}) {
  const copy = structuredClone(template);
  for (const resource of Object.values(copy.Resources)) {
    if (resource.Type === 'AWS::Lambda::Function')
      delete (resource.Properties as { Architectures?: unknown }).Architectures;
  }
  return copy;
}

describe('Context: lambdaArchitecture', () => {
  it('changes every function’s Architectures and nothing else of the template, bundles included', () => {
    // Act
    const arm = synthesizeDeployment({ ...ALL_FEATURES_CONTEXT });
    const x86 = synthesizeDeployment({ ...ALL_FEATURES_CONTEXT, lambdaArchitecture: 'x86_64' });

    // Assess
    expect(arm.functions.map((fn) => fn.architectures)).toEqual(arm.functions.map(() => ['arm64']));
    expect(x86.functions.map((fn) => fn.architectures)).toEqual(arm.functions.map(() => ['x86_64']));
    // Presign, admin, MinIO rotation, IAM key rotation, sync, drift.
    expect(x86.functions).toHaveLength(6);
    // Code.S3Key is the asset hash (of the bundle's bytes), so equal templates mean equal bundles.
    expect(withoutArchitectures(x86.template)).toEqual(withoutArchitectures(arm.template));
  });

  it('is arm64 when given as arm64, as by default', () => {
    // Act
    const { stack } = buildApp({
      outdir: outdir(),
      context: { fenceRoleArns: ALL_FEATURES_CONTEXT.fenceRoleArns, lambdaArchitecture: 'arm64' },
    });

    // Assess
    Template.fromStack(stack).allResourcesProperties('AWS::Lambda::Function', { Architectures: ['arm64'] });
  });

  it.each(['amd64', 'x86-64', 'ARM64', ''])('refuses %j at synth, naming the two it takes', (value) => {
    // Act
    const act = () =>
      buildApp({
        outdir: outdir(),
        context: { fenceRoleArns: ALL_FEATURES_CONTEXT.fenceRoleArns, lambdaArchitecture: value },
      });

    // Assess
    expect(act).toThrow(`context lambdaArchitecture must be arm64 or x86_64, got ${JSON.stringify(value)}`);
  });
});
