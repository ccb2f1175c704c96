/**
 * The shape of `secret_ref` and `secret_version` for each backend that has one, shared by the
 * registry schema (records are refused when they break it) and the backends (which parse refs).
 * No imports: the registry loads this on the hot path.
 */

/**
 * Vault KV v2: `<mount>/<path>`, the mount being the first segment (`secret/gen3/fence/minio/b`
 * is path `gen3/fence/minio/b` in mount `secret`). Segments are non-empty, never `.` or `..`.
 */
export const VAULT_REF = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[^/\s?#]+(?:\/[^/\s?#]+)+$/;

/** Vault KV v2 versions are whole numbers from 1. */
export const VAULT_VERSION = /^[1-9]\d{0,9}$/;

/** GCP Secret Manager: `projects/<project id or number>/secrets/<secret id>`. */
export const GCP_SECRET_REF = /^projects\/[a-z0-9][a-z0-9-]{0,62}\/secrets\/[A-Za-z0-9_-]{1,255}$/;

/** GCP Secret Manager versions: a number from 1, or `latest`. */
export const GCP_SECRET_VERSION = /^(?:[1-9]\d{0,18}|latest)$/;

/** Splits a Vault ref into its mount and the path inside it; undefined when it is not one. */
export function splitVaultRef(ref: string): { mount: string; path: string } | undefined {
  if (!VAULT_REF.test(ref)) return undefined;
  const slash = ref.indexOf('/');
  return { mount: ref.slice(0, slash), path: ref.slice(slash + 1) };
}
