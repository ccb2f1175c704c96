import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  BucketMisconfiguredError,
  RotationNotConfiguredError,
  SecretBackendUnavailableError,
  SecretExistsError,
  SecretNotFoundError,
} from '../../errors';
import type { SecretAdministration, SecretDescription } from '../../secrets/secret-administration';
import { isNormalSecretRef, SECRET_REF_SEGMENTS_RULE } from '../../secrets/secret-ref-formats';
import {
  decodeSecretPayload,
  type SecretPayload,
  type SecretResolver,
  type SecretVersionId,
} from '../../secrets/secret-resolver';

/**
 * Secrets as files in a directory, the way Kubernetes mounts a Secret: `ref` is a path under the
 * directory and the file holds the JSON payload. Each read checks the file's modification time,
 * so an updated mount (kubelet swaps a symlink) is picked up once the cache asks again. Files
 * have no versions: a pin is a misconfiguration.
 */
export class FileSecretResolver implements SecretResolver, SecretAdministration {
  readonly backend = 'k8s' as const;
  private readonly parsed = new Map<string, { mtimeMs: number; size: number; payload: SecretPayload }>();

  constructor(private readonly directory: string) {}

  async get(ref: string, version?: string | null): Promise<SecretPayload> {
    if (version !== null && version !== undefined) {
      throw new BucketMisconfiguredError(
        `secret ${ref}: the k8s backend has no versions to pin (${version})`,
      );
    }
    const file = this.pathOf(ref);
    try {
      const info = await stat(file);
      const known = this.parsed.get(file);
      if (known !== undefined && known.mtimeMs === info.mtimeMs && known.size === info.size)
        return known.payload;
      const payload = decodeSecretPayload(ref, await readFile(file, 'utf8'));
      this.parsed.set(file, { mtimeMs: info.mtimeMs, size: info.size, payload });
      return payload;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new SecretNotFoundError(ref, null, { cause: error });
      if (
        error instanceof Error &&
        'code' in error &&
        typeof error.code === 'string' &&
        error.code.startsWith('E')
      ) {
        throw new SecretBackendUnavailableError(`secret file for ${ref} could not be read`, { cause: error });
      }
      throw error;
    }
  }

  /** Writes the payload atomically (temporary file, then rename), readable by the owner only. */
  async put(ref: string, payload: SecretPayload): Promise<SecretVersionId> {
    const file = this.pathOf(ref);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temporary, JSON.stringify(payload), { mode: 0o600 });
    await rename(temporary, file);
    this.parsed.delete(file);
    return String((await stat(file)).mtimeMs);
  }

  async describe(ref: string): Promise<SecretDescription | undefined> {
    try {
      await stat(this.pathOf(ref));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return { ref, name: ref, rotationEnabled: false, versions: [] };
  }

  /** Files carry no KMS key or tags: those settings are for cloud backends. */
  async create(name: string, payload: SecretPayload): Promise<SecretDescription> {
    if ((await this.describe(name)) !== undefined) throw new SecretExistsError(name);
    await this.put(name, payload);
    return { ref: name, name, rotationEnabled: false, versions: [] };
  }

  /** Moves the file into `.deleted/` beside the others: a local stand-in for a recovery window. */
  async remove(ref: string): Promise<void> {
    const file = this.pathOf(ref);
    const trash = join(this.directory, '.deleted', `${ref}.${Date.now()}`);
    await mkdir(dirname(trash), { recursive: true, mode: 0o700 });
    await rename(file, trash);
    this.parsed.delete(file);
  }

  async rotate(ref: string): Promise<string> {
    throw new RotationNotConfiguredError(`secret ${ref} is a mounted file; the k8s backend does not rotate`);
  }

  /**
   * Refs are plain relative paths, read as they are written: a `.`, `..` or empty segment is
   * refused even when it would stay inside the directory (`gen3/fence/x/../admin/m` names the
   * admin key, which the prefix checks did not see), and whatever reaches here must still
   * resolve inside the directory.
   */
  private pathOf(ref: string): string {
    if (!isNormalSecretRef(ref)) {
      throw new BucketMisconfiguredError(`secret ref ${ref} ${SECRET_REF_SEGMENTS_RULE}`);
    }
    const file = resolve(this.directory, ref);
    const inside = relative(resolve(this.directory), file);
    if (inside === '' || inside.split(sep)[0] === '..' || isAbsolute(inside)) {
      throw new BucketMisconfiguredError(`secret ref ${ref} is not a path inside the secrets directory`);
    }
    return file;
  }
}
