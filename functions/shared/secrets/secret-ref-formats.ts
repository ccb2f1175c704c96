import type { SecretsBackend } from './backend-names';

/**
 * The shape of `secret_ref` and `secret_version` for each backend that has one, shared by the
 * registry schema (records are refused when they break it) and the backends (which parse refs).
 * Type imports only: the registry loads this on the hot path.
 */

/**
 * The name `ref` stands for: `/`-separated segments with empty and `.` segments dropped and each
 * `..` removing the segment before it (`gen3/fence/x/../admin/m` is `gen3/fence/admin/m`), as a
 * path-based backend (mounted files, Vault) would resolve it.
 */
export function normalizeSecretRef(ref: string): string {
  const kept: string[] = [];
  for (const segment of ref.split('/')) {
    if (segment === '..') kept.pop();
    else if (segment !== '' && segment !== '.') kept.push(segment);
  }
  return kept.join('/');
}

/**
 * The one rule for every backend's `secret_ref`: it is already its normalized name, so it has no
 * empty, `.` or `..` segment and no leading or trailing `/`. The name the prefix, the admin
 * sub-path and IAM's patterns are checked against is then the name that is read. Applied by the
 * record schema and again by each backend when it reads.
 */
export function isNormalSecretRef(ref: string): boolean {
  return ref !== '' && normalizeSecretRef(ref) === ref;
}

/**
 * `isNormalSecretRef` as a pattern, for the record schema and so the OpenAPI document: no leading
 * or trailing `/`, no `//`, no `.` or `..` segment.
 */
export const NORMAL_SECRET_REF = /^(?!\/|[\s\S]*\/$|[\s\S]*\/\/|(?:[\s\S]*\/)?\.\.?(?:\/|$))[\s\S]+$/;

/** Why a ref that breaks `isNormalSecretRef` is refused, in the words every caller uses. */
export const SECRET_REF_SEGMENTS_RULE =
  'must not have empty, "." or ".." segments, nor a leading or trailing "/"';

/**
 * Vault KV v2: `<mount>/<path>`, the mount being the first segment (`secret/gen3/fence/minio/b`
 * is path `gen3/fence/minio/b` in mount `secret`). Segments are non-empty; `.` and `..` are
 * refused by `isNormalSecretRef`, which `splitVaultRef` applies too.
 */
export const VAULT_REF = /^[^/\s?#]+(?:\/[^/\s?#]+)+$/;

/** Vault KV v2 versions are whole numbers from 1. */
export const VAULT_VERSION = /^[1-9]\d{0,9}$/;

/** GCP Secret Manager: `projects/<project id or number>/secrets/<secret id>`. */
export const GCP_SECRET_REF = /^projects\/[a-z0-9][a-z0-9-]{0,62}\/secrets\/[A-Za-z0-9_-]{1,255}$/;

/** GCP Secret Manager versions: a number from 1, or `latest`. */
export const GCP_SECRET_VERSION = /^(?:[1-9]\d{0,18}|latest)$/;

/** Splits a Vault ref into its mount and the path inside it; undefined when it is not one. */
export function splitVaultRef(ref: string): { mount: string; path: string } | undefined {
  if (!VAULT_REF.test(ref) || !isNormalSecretRef(ref)) return undefined;
  const slash = ref.indexOf('/');
  return { mount: ref.slice(0, slash), path: ref.slice(slash + 1) };
}

/** The broker's name of a GCP secret id, reading `--` as `/` and `__` as `.` from the left. */
export function nameOfSecretId(id: string): string {
  return id.replace(/--|__/g, (pair) => (pair === '--' ? '/' : '.'));
}

const AWS_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[^:]*:[^:]*:secret:(.+)$/;

/**
 * The secret's name (what the prefix and the admin sub-path apply to) as the ref alone states
 * it, without asking the backend: what the admin side's `describe` calls `name`, for the callers
 * that may not or cannot ask (the sync has no secrets access; presign checks on every request).
 * An AWS ARN's resource part (its 6-character suffix left on: it cannot move a name into or out
 * of a prefix), a Vault ref's path inside its mount, a GCP secret id read back as a name, a k8s
 * file path as it is. A ref of the wrong shape is returned whole: the record schema refuses it
 * on its own (and a Vault ref without its mount is read as mount `gen3`, outside the prefix).
 */
export function secretNameOfRef(backend: SecretsBackend, ref: string): string {
  switch (backend) {
    case 'aws_sm':
      return AWS_SECRET_ARN.exec(ref)?.[1] ?? ref;
    case 'vault':
      return splitVaultRef(ref)?.path ?? ref;
    case 'gcp_sm':
      return GCP_SECRET_REF.test(ref) ? nameOfSecretId(ref.slice(ref.lastIndexOf('/') + 1)) : ref;
    case 'k8s':
      return ref;
  }
}
