import { SecretShapeError } from '../errors';
import type { SecretsBackend } from './backend-names';

/** A decoded secret: a flat JSON object of strings (the plan's shape conventions). */
export type SecretPayload = Readonly<Record<string, string>>;

/** Per-read limits: the request's deadline, which no backend call may outlast. */
export interface SecretReadOptions {
  /** Epoch milliseconds. */
  deadline?: number;
}

/** A backend's version handle for a written secret (AWS VersionId, GCP version number, …). */
export type SecretVersionId = string;

/**
 * The one interface every secrets backend implements (the plan's `SecretResolver`). Backends
 * only fetch and write; caching, single flight and stale-on-error live in
 * `CachingSecretResolver`, in front of any of them.
 */
export interface SecretResolver {
  readonly backend: SecretsBackend;
  /**
   * The payload of `ref` at `version`; null or undefined means the latest (AWSCURRENT).
   * Throws `SecretNotFoundError`, `SecretShapeError`, or a backend error. A backend that calls
   * out gives up by `options.deadline` (epoch ms) at the latest.
   */
  get(ref: string, version?: string | null, options?: SecretReadOptions): Promise<SecretPayload>;
  /** Writes `payload` as the new latest version of `ref` (admin flows only). */
  put(ref: string, payload: SecretPayload): Promise<SecretVersionId>;
}

/**
 * Decodes a secret's text into a payload. Errors name the ref and the field, and never include
 * the text, which may be a secret that merely failed to parse.
 */
export function decodeSecretPayload(ref: string, text: string): SecretPayload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SecretShapeError(ref, undefined, 'is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretShapeError(ref, undefined, 'must be a JSON object');
  }
  for (const [field, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') throw new SecretShapeError(ref, field, 'must be a string');
  }
  return Object.freeze(parsed as Record<string, string>);
}
