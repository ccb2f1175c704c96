import type { AdminSecretsBackend } from '../admin/bucket-proof';
import type { KmsKeys } from './kms-keys';
import type { SecretResourcePolicies } from './secret-resource-policies';

/**
 * One answer per key for the length of one drift-check run. Many records share a secret (and many
 * secrets a KMS key): what a run learns of one is a fact of that moment for all of them, so it asks
 * once. A failed call is shared too: every bucket on that secret fails that run with the same reason.
 */
export function memoize<A extends unknown[], V>(
  work: (...args: A) => Promise<V>,
  keyOf: (...args: A) => string,
): (...args: A) => Promise<V> {
  const answers = new Map<string, Promise<V>>();
  return (...args) => {
    const key = keyOf(...args);
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = work(...args);
      answers.set(key, answer);
    }
    return answer;
  };
}

/** A backend whose reads and descriptions are asked once per (secret, version) in a run. */
export function memoizedBackend(backend: AdminSecretsBackend): AdminSecretsBackend {
  const { read, admin } = backend;
  return {
    read: {
      backend: read.backend,
      get: memoize(
        (ref: string, version?: string | null) => read.get(ref, version),
        (ref, version) => `${ref}\u0000${version ?? ''}`,
      ),
      put: (ref, payload) => read.put(ref, payload),
    },
    admin: {
      backend: admin.backend,
      describe: memoize(
        (ref: string) => admin.describe(ref),
        (ref) => ref,
      ),
      create: (name, payload, options) => admin.create(name, payload, options),
      remove: (ref, days) => admin.remove(ref, days),
      rotate: (ref) => admin.rotate(ref),
      ...(admin.refFor === undefined ? {} : { refFor: admin.refFor.bind(admin) }),
      ...(admin.versionCreatedAt === undefined
        ? {}
        : {
            // Every bucket on a static AWS key ages it (key_age): one listing per version.
            versionCreatedAt: memoize(
              admin.versionCreatedAt.bind(admin),
              (ref, versionId) => `${ref}\u0000${versionId}`,
            ),
          }),
    },
  };
}

export function memoizedKmsKeys(kms: KmsKeys): KmsKeys {
  return {
    describe: memoize(
      (ref: string) => kms.describe(ref),
      (ref) => ref,
    ),
  };
}

export function memoizedResourcePolicies(policies: SecretResourcePolicies): SecretResourcePolicies {
  return {
    get: memoize(
      (ref: string) => policies.get(ref),
      (ref) => ref,
    ),
  };
}
