/**
 * The secrets backends a record may name (DESIGN.md's `secrets_backend`). Each has a folder
 * under `functions/shared/backends/` and a line in its registry; the record's schema, the
 * settings and the resolvers all take their names from here.
 */
export const SECRETS_BACKENDS = ['aws_sm', 'gcp_sm', 'vault', 'k8s'] as const;
export type SecretsBackend = (typeof SECRETS_BACKENDS)[number];
