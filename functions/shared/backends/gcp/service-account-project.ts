/** A GCP project id: 6–30 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen. */
const PROJECT_ID = '[a-z][a-z0-9-]{4,28}[a-z0-9]';

export const GCP_PROJECT_ID_PATTERN = new RegExp(`^${PROJECT_ID}$`);

// Google-managed service agents (`service-<project number>@…`) live in Google's projects, not the customer's.
const USER_MANAGED_ACCOUNT = new RegExp(
  `^(?!service-\\d+@)[^@\\s]+@(${PROJECT_ID})\\.iam\\.gserviceaccount\\.com$`,
);

/**
 * The project of a service account, from its email: a user-managed account is
 * `<name>@<project id>.iam.gserviceaccount.com`. Other accounts do not name it plainly and get
 * undefined rather than a guess: `<project number>-compute@developer.gserviceaccount.com`,
 * Google-managed service agents, and accounts of domain-scoped projects (`example.com:project`,
 * whose accounts are `<name>@project.example.com.iam.gserviceaccount.com`).
 */
export function projectOfServiceAccount(email: string): string | undefined {
  return USER_MANAGED_ACCOUNT.exec(email)?.[1];
}
