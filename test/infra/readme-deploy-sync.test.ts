import { synthDocumentedDeploy } from './readme-synth';

describe('docs/fence.md: deploying the sync from Fence DB', () => {
  it('synthesizes offline with the context shown, adding the sync function and its schedule', async () => {
    // Prepare / Act: the page's deploy command as an offline synth
    const { template } = await synthDocumentedDeploy(
      'docs/fence.md',
      'Deploying with Fence DB adds a **sync Lambda**',
    );

    // Assess
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map(
      (resource) => resource.Type,
    );
    expect(types).toContain('AWS::Events::Rule');
    expect(template.Outputs.RegistrySyncFunctionName).toBeDefined();
    expect(JSON.stringify(template)).toContain('subnet-0fedcba9876543210');
  }, 300_000);
});
