import {
  BrokerError,
  InvalidRequestError,
  RotationNotConfiguredError,
  SecretBackendUnavailableError,
  SecretExistsError,
  ThrottledError,
} from '../../errors';
import type {
  SecretAdministration,
  SecretCreation,
  SecretDescription,
} from '../../secrets/secret-administration';
import { splitVaultRef } from '../../secrets/secret-ref-formats';
import type { SecretPayload } from '../../secrets/secret-resolver';
import { VaultLoginError } from './vault-auth';
import { VaultApiError, type VaultClient } from './vault-client';
import { vaultLocation } from './vault-resolver';

interface VaultVersionMetadata {
  deletion_time?: string;
  destroyed?: boolean;
}

/**
 * Vault KV v2, admin side. A secret's `name` (what the prefix rules apply to) is its path inside
 * the mount: `secret/gen3/fence/minio/b` is named `gen3/fence/minio/b`. Admin flows create
 * secrets in the configured KV mount, tagged through KV v2's custom metadata. Removal is KV v2's
 * soft delete of every version (recoverable with `undelete` until someone destroys them); Vault
 * has no rotation functions, so rotation is refused.
 */
export class VaultAdministration implements SecretAdministration {
  readonly backend = 'vault' as const;
  constructor(
    private readonly client: VaultClient,
    private readonly kvMount: string,
  ) {}

  async describe(ref: string): Promise<SecretDescription | undefined> {
    const { mount, path } = vaultLocation(ref);
    const parts = splitVaultRef(ref) ?? { mount: '', path: ref };
    try {
      const answer = await this.client.request('GET', `${mount}/metadata/${path}`);
      if (answer.status === 404) return undefined;
      const versions = Object.entries(
        (answer.body?.data?.versions ?? {}) as Record<string, VaultVersionMetadata>,
      ).filter(([, metadata]) => !metadata.destroyed && !metadata.deletion_time);
      const current = String(answer.body?.data?.current_version ?? '');
      // A secret whose latest version is deleted or destroyed reads as missing: it is gone for the broker.
      if (!versions.some(([id]) => id === current)) return undefined;
      return {
        ref: `${parts.mount}/${parts.path}`,
        name: parts.path,
        rotationEnabled: false,
        versions: versions.map(([id]) => ({ id, stages: [] })),
      };
    } catch (error) {
      throw translate(error, ref);
    }
  }

  /** Creates `name` (a path) in the KV mount, refusing one that exists (check-and-set 0). */
  async create(name: string, payload: SecretPayload, options: SecretCreation): Promise<SecretDescription> {
    const ref = `${this.kvMount}/${name.replace(/^\/+/, '')}`;
    const { mount, path } = vaultLocation(ref);
    let version: string;
    try {
      const answer = await this.client
        .request('POST', `${mount}/data/${path}`, { body: { options: { cas: 0 }, data: payload } })
        .catch(async (error: unknown) => {
          // Check-and-set 0 fails with 400 when the secret exists; tell it by looking, not by the message.
          if (error instanceof VaultApiError && error.status === 400 && (await this.exists(mount, path))) {
            throw new SecretExistsError(name, { cause: error });
          }
          throw error;
        });
      version = String(answer.body?.data?.version ?? '');
      await this.client.request('POST', `${mount}/metadata/${path}`, {
        body: { custom_metadata: tagsFor(options) },
      });
    } catch (error) {
      throw translate(error, ref);
    }
    return {
      ref,
      name: ref.slice(this.kvMount.length + 1),
      rotationEnabled: false,
      versions: [{ id: version, stages: [] }],
    };
  }

  /** Soft-deletes every version: recoverable with KV v2's `undelete` (the recovery window is the operator's). */
  async remove(ref: string): Promise<void> {
    const { mount, path } = vaultLocation(ref);
    try {
      const answer = await this.client.request('GET', `${mount}/metadata/${path}`);
      if (answer.status === 404) return;
      const versions = Object.keys(answer.body?.data?.versions ?? {}).map(Number);
      if (versions.length > 0) {
        await this.client.request('POST', `${mount}/delete/${path}`, { body: { versions } });
      }
    } catch (error) {
      throw translate(error, ref);
    }
  }

  private async exists(mount: string, path: string): Promise<boolean> {
    return (await this.client.request('GET', `${mount}/metadata/${path}`)).status !== 404;
  }

  async rotate(ref: string): Promise<string> {
    throw new RotationNotConfiguredError(
      `secret ${ref} is in Vault, which has no rotation function; write a new version instead`,
    );
  }
}

/** KV v2 custom metadata: tags and the description (values up to 512 characters). */
function tagsFor(options: SecretCreation): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.tags)) tags[key.slice(0, 128)] = value.slice(0, 512);
  if (options.description !== undefined) tags.description = options.description.slice(0, 512);
  return tags;
}

/** Admin errors: a refusal is the admin's input error, an outage is retryable. */
function translate(error: unknown, ref: string): Error {
  if (error instanceof BrokerError) return error;
  if (error instanceof VaultApiError) {
    if (error.status === 403) {
      return new InvalidRequestError(
        `access to secret ${ref} was denied to the admin's Vault token`,
        'secret_ref',
        {
          cause: error,
        },
      );
    }
    if (error.status === 429) {
      return new ThrottledError(`Vault throttled a request for ${ref}`, {
        cause: error,
        retryAfterSeconds: 1,
      });
    }
    if (error.status >= 400 && error.status < 500) {
      return new InvalidRequestError(`Vault refused the request for ${ref} (${error.status})`, 'secret_ref', {
        cause: error,
      });
    }
  }
  if (error instanceof VaultLoginError) {
    return new SecretBackendUnavailableError(error.message, { cause: error });
  }
  return new SecretBackendUnavailableError(`Vault failed a request for ${ref}`, { cause: error });
}
