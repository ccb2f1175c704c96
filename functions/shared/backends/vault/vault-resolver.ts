import {
  BrokerError,
  BucketMisconfiguredError,
  RevisionConflictError,
  SecretBackendUnavailableError,
  SecretNotFoundError,
  SecretShapeError,
  ThrottledError,
} from '../../errors';
import { ExchangeTimeoutError } from '../../http/http-exchange';
import { splitVaultRef, VAULT_VERSION } from '../../secrets/secret-ref-formats';
import {
  decodeSecretPayload,
  type SecretPayload,
  type SecretReadOptions,
  type SecretResolver,
  type SecretVersionId,
} from '../../secrets/secret-resolver';
import { type VaultAnswer, VaultLoginError } from './vault-auth';
import { VaultApiError, VaultClient } from './vault-client';
import type { VaultSettings } from './vault-settings';

/** A ref's mount and path, URL-encoded segment by segment for the API path. */
export function vaultLocation(ref: string): { mount: string; path: string } {
  const parts = splitVaultRef(ref);
  if (parts === undefined) {
    throw new BucketMisconfiguredError(
      `secret ref ${ref} is not a Vault KV v2 reference (<mount>/<path>, e.g. secret/gen3/fence/minio/bucket)`,
    );
  }
  return {
    mount: parts.mount.split('/').map(encodeURIComponent).join('/'),
    path: parts.path.split('/').map(encodeURIComponent).join('/'),
  };
}

/**
 * Vault (or OpenBao) KV v2. `ref` is `<mount>/<path>`; a `version` pin is a KV version number,
 * the latest otherwise. A version that is soft-deleted or destroyed is a clear not-found, never
 * an older value. Writes use check-and-set, so a concurrent writer is refused, not overwritten.
 */
export class VaultResolver implements SecretResolver {
  readonly backend = 'vault' as const;

  constructor(readonly client: VaultClient) {}

  static fromSettings(
    settings: VaultSettings,
    options: Parameters<typeof VaultClient.fromSettings>[1] = {},
  ): VaultResolver {
    return new VaultResolver(VaultClient.fromSettings(settings, options));
  }

  async get(ref: string, version?: string | null, options: SecretReadOptions = {}): Promise<SecretPayload> {
    const { mount, path } = vaultLocation(ref);
    if (version !== null && version !== undefined && !VAULT_VERSION.test(version)) {
      throw new BucketMisconfiguredError(
        `secret ${ref}: a Vault version pin is a number from 1, not ${version}`,
      );
    }
    const query = version === null || version === undefined ? '' : `?version=${version}`;
    let answer: VaultAnswer;
    try {
      answer = await this.client.request('GET', `${mount}/data/${path}${query}`, {
        ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
      });
    } catch (error) {
      throw translate(error, ref);
    }
    const data = answer.body?.data?.data;
    if (answer.status === 404 || data === null || data === undefined) {
      throw notFound(ref, version, answer.body?.data?.metadata);
    }
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new SecretShapeError(ref, undefined, 'must be a JSON object');
    }
    return decodeSecretPayload(ref, JSON.stringify(data));
  }

  /**
   * Writes `payload` as a new version with check-and-set: `expectedVersion` (0: the secret must
   * not exist) or, by default, the version current just before the write. A concurrent writer
   * makes it fail with `RevisionConflictError` rather than be overwritten.
   */
  async put(
    ref: string,
    payload: SecretPayload,
    options: { expectedVersion?: number } = {},
  ): Promise<SecretVersionId> {
    const { mount, path } = vaultLocation(ref);
    try {
      const cas = options.expectedVersion ?? (await this.currentVersion(mount, path));
      const answer = await this.client
        .request('POST', `${mount}/data/${path}`, {
          body: { options: { cas }, data: payload },
        })
        .catch(async (error: unknown) => {
          // Vault answers a check-and-set mismatch with 400; tell it by the version, not the message.
          if (
            error instanceof VaultApiError &&
            error.status === 400 &&
            (await this.currentVersion(mount, path)) !== cas
          ) {
            throw new RevisionConflictError(
              `secret ${ref} changed while it was written (check-and-set expected version ${cas})`,
              { cause: error },
            );
          }
          throw error;
        });
      const written = Number(answer.body?.data?.version);
      if (answer.status === 404 || !(written > 0)) {
        throw new SecretBackendUnavailableError(`Vault wrote ${ref} without a version`);
      }
      return String(written);
    } catch (error) {
      throw translate(error, ref);
    }
  }

  /** The secret's current version number; 0 when it does not exist. */
  async currentVersion(mount: string, path: string): Promise<number> {
    const answer = await this.client.request('GET', `${mount}/metadata/${path}`);
    return answer.status === 404 ? 0 : Number(answer.body?.data?.current_version ?? 0);
  }
}

function notFound(
  ref: string,
  version: string | null | undefined,
  metadata: { deletion_time?: string; destroyed?: boolean; version?: number } | undefined,
): SecretNotFoundError {
  const which = version === null || version === undefined ? 'its latest version' : `version ${version}`;
  if (metadata?.destroyed === true) {
    return new SecretNotFoundError(ref, version, undefined, `was not found: ${which} is destroyed`);
  }
  if (metadata?.deletion_time) {
    return new SecretNotFoundError(ref, version, undefined, `was not found: ${which} is deleted`);
  }
  return new SecretNotFoundError(ref, version);
}

/** Vault's answers become ours by status, never by Vault's message. */
export function translate(error: unknown, ref: string): Error {
  if (error instanceof BrokerError) return error;
  if (error instanceof VaultLoginError) {
    // Vault refusing the login (a removed role, a denied identity) is an answer, not an outage.
    const refused =
      error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 429;
    return new SecretBackendUnavailableError(`${error.message}; secret ${ref} cannot be read`, {
      cause: error,
      transient: !refused,
    });
  }
  if (error instanceof VaultApiError) {
    if (error.status === 403) {
      return new BucketMisconfiguredError(`access to secret ${ref} was denied by Vault's policy`, {
        cause: error,
      });
    }
    if (error.status === 429) {
      return new ThrottledError(`Vault throttled reads of ${ref}`, { cause: error, retryAfterSeconds: 1 });
    }
    if (error.status >= 400 && error.status < 500) {
      return new BucketMisconfiguredError(`Vault refused the request for ${ref} (${error.status})`, {
        cause: error,
      });
    }
    return new SecretBackendUnavailableError(`Vault failed a request for ${ref} (${error.status})`, {
      cause: error,
    });
  }
  return new SecretBackendUnavailableError(
    error instanceof ExchangeTimeoutError
      ? `Vault did not answer in time for ${ref}`
      : `Vault could not be reached for ${ref}`,
    { cause: error },
  );
}
