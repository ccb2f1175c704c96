import {
  GCP_PROJECT_ID_PATTERN,
  projectOfServiceAccount,
} from '../../../../functions/shared/backends/gcp/service-account-project';

describe('Function: projectOfServiceAccount', () => {
  it.each([
    ['fence-broker@gen3-project.iam.gserviceaccount.com', 'gen3-project'],
    ['reader@project-123456.iam.gserviceaccount.com', 'project-123456'],
    ['a.b-c@abcdef.iam.gserviceaccount.com', 'abcdef'],
  ])('reads the project of user-managed account %s', (email, project) => {
    expect(projectOfServiceAccount(email)).toBe(project);
  });

  it.each([
    [
      'the Compute Engine default account (a project number)',
      '123456789012-compute@developer.gserviceaccount.com',
    ],
    ['a Google-managed service agent', 'service-123456789012@gs-project-accounts.iam.gserviceaccount.com'],
    ['a domain-scoped project', 'reader@my-project.example.com.iam.gserviceaccount.com'],
    ['a project id too short', 'reader@abc.iam.gserviceaccount.com'],
    ['a project id ending with a hyphen', 'reader@project-.iam.gserviceaccount.com'],
    ['a user, not a service account', 'ana@example.org'],
    ['no email at all', 'gen3-project.iam.gserviceaccount.com'],
  ])('gives undefined for %s rather than a guess', (_case, email) => {
    expect(projectOfServiceAccount(email)).toBeUndefined();
  });

  it('accepts as project ids exactly what Google allows (6–30 of a-z0-9-, a letter first, no trailing hyphen)', () => {
    expect(['gen3-data', 'a'.repeat(30), 'abc123'].every((id) => GCP_PROJECT_ID_PATTERN.test(id))).toBe(true);
    expect(
      ['Gen3-data', 'a'.repeat(31), 'abc12', '1project', 'project-', 'my_project'].some((id) =>
        GCP_PROJECT_ID_PATTERN.test(id),
      ),
    ).toBe(false);
  });
});
