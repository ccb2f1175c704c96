import { open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PayloadTooLargeError, RevisionConflictError } from '../errors';

/** What the owner and permissions of a rewritten file must stay. */
export interface FileOwnership {
  mode: number;
  uid: number;
  gid: number;
}

/**
 * The file operations the migration makes: node's by default, a failing one in the tests that
 * stop a migration before its rename.
 */
export interface ConfigFileSystem {
  /** The file a path (perhaps a symlink) names. */
  realpath(path: string): Promise<string>;
  /**
   * The file's text. With `maxBytes`, a longer file is refused (`PayloadTooLargeError`, naming
   * the file and the cap) after reading at most one byte more than the cap.
   */
  readFile(path: string, maxBytes?: number): Promise<string>;
  stat(path: string): Promise<FileOwnership>;
  /** Creates `path`, which must not exist, holding `text` with `ownership`, flushed to disk. */
  writeNewFile(path: string, text: string, ownership: FileOwnership): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes `path`; a missing file is not an error. */
  remove(path: string): Promise<void>;
}

export const nodeConfigFileSystem: ConfigFileSystem = {
  realpath: (path) => realpath(path),
  readFile: (path, maxBytes) =>
    maxBytes === undefined ? readFile(path, 'utf8') : readCapped(path, maxBytes),
  stat: async (path) => {
    const info = await stat(path);
    return { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
  },
  async writeNewFile(path, text, ownership) {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      // The umask must not change the mode; the owner stays when this process may keep it.
      await handle.chmod(ownership.mode);
      await handle.chown(ownership.uid, ownership.gid).catch(() => undefined);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => rename(from, to),
  remove: async (path) => {
    await unlink(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  },
};

/** The temporary file a rewrite of `path` goes through: beside it, so the rename stays on one file system. */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.fence-buckets-migrate.tmp`);
}

/**
 * Replaces the file at `path` with `text` in one step: a temporary file beside it (same mode and
 * owner, flushed), then a rename over it, so a reader sees the old file or the new one, never
 * half of one. A temporary file left by an interrupted run is removed first. If the file no
 * longer holds `expected` (someone edited it meanwhile), nothing is replaced.
 */
export async function replaceFile(
  files: ConfigFileSystem,
  path: string,
  text: string,
  expected: string,
): Promise<void> {
  const target = await files.realpath(path);
  const temporary = temporaryPathFor(target);
  const ownership = await files.stat(target);
  await files.remove(temporary);
  await files.writeNewFile(temporary, text, ownership);
  try {
    if ((await files.readFile(target)) !== expected) {
      throw new RevisionConflictError(`${path} changed while the migration ran; run it again`);
    }
    await files.rename(temporary, target);
  } catch (error) {
    await files.remove(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * Reads at most `maxBytes + 1` bytes, whatever the file claims to be: a size from `stat` would
 * let a FIFO or a device (`/dev/zero`) through, and a file may grow between stat and read.
 */
async function readCapped(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) {
      throw new PayloadTooLargeError(
        `${path} is larger than ${maxBytes} bytes, the most a Fence configuration file may hold here`,
      );
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}
