import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { type CompletedPart, S3Error, unquote } from './demo-store-protocol';

/** What the store keeps about an object besides its bytes. */
export interface ObjectMetadata {
  key: string;
  size: number;
  /** Quoted, as S3 sends it: `"<md5 hex>"`, or `"<md5 of part md5s>-<parts>"` after multipart. */
  etag: string;
  contentType: string;
  /** ISO 8601. */
  lastModified: string;
}

/** Digests the body must match; a mismatch refuses the upload and keeps nothing. */
export interface BodyChecks {
  /** Hex SHA-256 the client signed (header auth with a signed payload). */
  sha256?: string;
  /** Raw MD5 from a `Content-MD5` header. */
  md5?: Buffer;
  /** An `x-amz-checksum-<algorithm>` the client sent, base64 as on the wire. */
  checksum?: { algorithm: ChecksumAlgorithm; base64: string };
}

/** The additional checksums Node computes without a native module; S3 has two more (501 here). */
export type ChecksumAlgorithm = 'crc32' | 'sha1' | 'sha256';

/** S3's floor for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** The metadata file of an object or part also names the file that holds its bytes. */
interface ObjectRecord extends ObjectMetadata {
  data: string;
}

interface UploadRecord {
  key: string;
  contentType: string;
  initiated: string;
}

interface PartRecord {
  partNumber: number;
  etag: string;
  size: number;
  md5: string;
  data: string;
}

/** Names the store makes itself; the only names besides fixed ones that reach a path. */
const GENERATED_NAME = /^[0-9a-f]{32}$/;

/**
 * Objects as files. No name a client chooses ever becomes part of a path: an object's metadata
 * file is named by the SHA-256 of its key, its bytes by a random name recorded in that metadata,
 * upload ids are random and checked against their shape before use, and buckets are the fixed
 * set given at start. Any UTF-8 key, `..` and `%2F` included, is just a hash here.
 *
 * Bodies are streamed into `tmp/` and moved into place only once complete and checked; the
 * atomic rename of the metadata file is the commit, so a reader sees the old object or the new
 * one, never half of either. Layout under the directory:
 *
 *     tmp/                                       bodies in flight; emptied at start
 *     buckets/<bucket>/objects/<sha256(key)>.json  metadata, naming the data file
 *     buckets/<bucket>/data/<random>             object bytes
 *     buckets/<bucket>/uploads/<uploadId>/       upload.json, part-<n>.json, part bytes
 */
export class ObjectFiles {
  private readonly serial = new Serializer();
  private readonly tmp: string;

  private constructor(
    private readonly root: string,
    private readonly buckets: ReadonlySet<string>,
  ) {
    this.tmp = join(root, 'tmp');
  }

  /** Prepares the directory for the given buckets, keeping what an earlier run stored. */
  static async open(directory: string, buckets: readonly string[]): Promise<ObjectFiles> {
    const files = new ObjectFiles(resolve(directory), new Set(buckets));
    // Whatever is in tmp/ belonged to a request that never finished.
    await rm(files.tmp, { recursive: true, force: true });
    await mkdir(files.tmp, { recursive: true });
    for (const bucket of buckets) {
      for (const folder of ['objects', 'data', 'uploads'])
        await mkdir(join(files.bucketDir(bucket), folder), { recursive: true });
    }
    return files;
  }

  /** Whether the bucket is one of those given at start. */
  hasBucket(bucket: string): boolean {
    return this.buckets.has(bucket);
  }

  /** The object's metadata, or NoSuchKey. */
  async head(bucket: string, key: string): Promise<ObjectMetadata> {
    const record = await this.objectRecord(bucket, key);
    if (record === undefined) throw noSuchKey();
    return metadataOf(record);
  }

  /** Opens an object for reading; the open handle keeps its bytes readable even if it is replaced. */
  async read(bucket: string, key: string): Promise<{ metadata: ObjectMetadata; handle: FileHandle }> {
    // A concurrent PUT may remove the bytes between reading the metadata and opening them;
    // the metadata read again then names the new bytes.
    for (let attempt = 0; attempt < 3; attempt++) {
      const record = await this.objectRecord(bucket, key);
      if (record === undefined) throw noSuchKey();
      try {
        const handle = await open(this.dataPath(bucket, record.data), 'r');
        return { metadata: metadataOf(record), handle };
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    throw new S3Error(503, 'SlowDown', 'The object is being replaced; please retry.');
  }

  /** Stores a body as the object of `key`, replacing any earlier one once the body is whole and checked. */
  async put(
    bucket: string,
    key: string,
    body: Readable,
    contentType: string,
    checks: BodyChecks,
  ): Promise<ObjectMetadata> {
    const received = await this.receive(body, checks);
    const data = generatedName();
    await rename(received.file, this.dataPath(bucket, data));
    const record: ObjectRecord = {
      key,
      size: received.size,
      etag: `"${received.md5.toString('hex')}"`,
      contentType,
      lastModified: new Date().toISOString(),
      data,
    };
    await this.commitObject(bucket, record);
    return metadataOf(record);
  }

  /** Deletes an object; deleting one that does not exist succeeds, as in S3. */
  async delete(bucket: string, key: string): Promise<void> {
    const path = this.objectPath(bucket, key);
    await this.serial.run(path, async () => {
      const record = await readJson<ObjectRecord>(path);
      await rm(path, { force: true });
      if (record !== undefined) await rm(this.dataPath(bucket, record.data), { force: true });
    });
  }

  /** Every object of a bucket, in no particular order. */
  async list(bucket: string): Promise<ObjectMetadata[]> {
    const folder = join(this.bucketDir(bucket), 'objects');
    const names = (await readdir(folder)).filter((name) => name.endsWith('.json'));
    const objects: ObjectMetadata[] = [];
    // A bounded number of files open at once, however many objects the bucket holds.
    for (let start = 0; start < names.length; start += 64) {
      const batch = names.slice(start, start + 64);
      for (const record of await Promise.all(batch.map((name) => readJson<ObjectRecord>(join(folder, name)))))
        if (record !== undefined) objects.push(metadataOf(record));
    }
    return objects;
  }

  /** Starts a multipart upload and answers its id; the object takes this content type on completion. */
  async createUpload(bucket: string, key: string, contentType: string): Promise<string> {
    const uploadId = generatedName();
    const folder = join(this.bucketDir(bucket), 'uploads', uploadId);
    await mkdir(folder);
    const upload: UploadRecord = { key, contentType, initiated: new Date().toISOString() };
    await this.writeJson(join(folder, 'upload.json'), upload);
    return uploadId;
  }

  /** Stores one part and answers its ETag; uploading a part number again replaces it. */
  async putPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    checks: BodyChecks,
  ): Promise<string> {
    const folder = (await this.upload(bucket, key, uploadId)).folder;
    const received = await this.receive(body, checks);
    const part: PartRecord = {
      partNumber,
      etag: `"${received.md5.toString('hex')}"`,
      size: received.size,
      md5: received.md5.toString('hex'),
      data: generatedName(),
    };
    const path = join(folder, `part-${partNumber}.json`);
    await this.serial.run(path, async () => {
      try {
        await rename(received.file, join(folder, part.data));
        const previous = await readJson<PartRecord>(path);
        await this.writeJson(path, part);
        if (previous !== undefined) await rm(join(folder, checkedName(previous.data)), { force: true });
      } catch (error) {
        await rm(received.file, { force: true });
        // The upload was completed or aborted while this part was on its way.
        if (isMissing(error)) throw noSuchUpload();
        throw error;
      }
    });
    return part.etag;
  }

  /**
   * Joins the named parts into the object, as S3 does: parts in ascending order, each ETag
   * matching the stored part, every part but the last at least 5 MiB. The object's ETag is the
   * MD5 of the parts' binary MD5s, then `-<number of parts>`.
   */
  async completeUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
  ): Promise<ObjectMetadata> {
    return this.serial.run(`upload:${bucket}/${uploadId}`, async () => {
      const upload = await this.upload(bucket, key, uploadId);
      for (let index = 1; index < parts.length; index++) {
        if ((parts[index]?.partNumber ?? 0) <= (parts[index - 1]?.partNumber ?? 0)) {
          throw new S3Error(
            400,
            'InvalidPartOrder',
            'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
          );
        }
      }
      const stored: PartRecord[] = [];
      for (const part of parts) {
        const record = await readJson<PartRecord>(join(upload.folder, `part-${part.partNumber}.json`));
        if (record === undefined || unquote(record.etag) !== part.etag) {
          throw new S3Error(
            400,
            'InvalidPart',
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          );
        }
        stored.push(record);
      }
      if (stored.slice(0, -1).some((part) => part.size < MIN_PART_SIZE)) {
        throw new S3Error(
          400,
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
        );
      }

      const file = join(this.tmp, generatedName());
      const folder = upload.folder;
      try {
        await pipeline(
          async function* () {
            for (const part of stored) yield* createReadStream(join(folder, checkedName(part.data)));
          },
          createWriteStream(file, { flags: 'wx' }),
        );
        const data = generatedName();
        await rename(file, this.dataPath(bucket, data));
        const digests = Buffer.concat(stored.map((part) => Buffer.from(part.md5, 'hex')));
        const record: ObjectRecord = {
          key,
          size: stored.reduce((total, part) => total + part.size, 0),
          etag: `"${createHash('md5').update(digests).digest('hex')}-${stored.length}"`,
          contentType: upload.record.contentType,
          lastModified: new Date().toISOString(),
          data,
        };
        await this.commitObject(bucket, record);
        await rm(folder, { recursive: true, force: true });
        return metadataOf(record);
      } finally {
        await rm(file, { force: true });
      }
    });
  }

  /** Drops an upload and its parts; an unknown id is NoSuchUpload. */
  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.serial.run(`upload:${bucket}/${uploadId}`, async () => {
      const upload = await this.upload(bucket, key, uploadId);
      await rm(upload.folder, { recursive: true, force: true });
    });
  }

  /** An upload of this key; any other id (or one of another key) is NoSuchUpload. */
  private async upload(
    bucket: string,
    key: string,
    uploadId: string,
  ): Promise<{ folder: string; record: UploadRecord }> {
    if (!GENERATED_NAME.test(uploadId)) throw noSuchUpload();
    const folder = join(this.bucketDir(bucket), 'uploads', uploadId);
    const record = await readJson<UploadRecord>(join(folder, 'upload.json'));
    if (record === undefined || record.key !== key) throw noSuchUpload();
    return { folder, record };
  }

  /** Makes `record` the object of its key and drops the bytes it replaces. */
  private async commitObject(bucket: string, record: ObjectRecord): Promise<void> {
    const path = this.objectPath(bucket, record.key);
    // One commit per key at a time, so two PUTs cannot both keep the bytes of the one they replace.
    await this.serial.run(path, async () => {
      const previous = await readJson<ObjectRecord>(path);
      await this.writeJson(path, record);
      if (previous !== undefined && previous.data !== record.data)
        await rm(this.dataPath(bucket, previous.data), { force: true });
    });
  }

  /** Streams a body into tmp/, hashing it on the way, and checks it against the client's digests. */
  private async receive(
    body: Readable,
    checks: BodyChecks,
  ): Promise<{ file: string; size: number; md5: Buffer }> {
    const file = join(this.tmp, generatedName());
    const md5 = createHash('md5');
    const sha256 = checks.sha256 === undefined ? undefined : createHash('sha256');
    const checksum = checks.checksum === undefined ? undefined : checksumOf(checks.checksum.algorithm);
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            md5.update(chunk);
            sha256?.update(chunk);
            checksum?.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(file, { flags: 'wx' }),
      );
      const digest = md5.digest();
      if (checks.md5 !== undefined && !digest.equals(checks.md5))
        throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
      if (sha256 !== undefined && sha256.digest('hex') !== checks.sha256) {
        throw new S3Error(
          400,
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
      }
      if (checks.checksum !== undefined && checksum?.base64() !== checks.checksum.base64) {
        throw new S3Error(
          400,
          'BadDigest',
          `The ${checks.checksum.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
        );
      }
      return { file, size, md5: digest };
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    }
  }

  /** Writes a JSON file whole or not at all: written aside, then renamed over the old one. */
  private async writeJson(path: string, value: unknown): Promise<void> {
    const aside = join(this.tmp, generatedName());
    await writeFile(aside, JSON.stringify(value), { flag: 'wx' });
    try {
      await rename(aside, path);
    } catch (error) {
      await rm(aside, { force: true });
      throw error;
    }
  }

  private bucketDir(bucket: string): string {
    // Bucket names are checked against the configured set by the caller and against S3's naming
    // rules at start; this check makes the path safe even if a caller forgets the first.
    if (!this.buckets.has(bucket))
      throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    return join(this.root, 'buckets', bucket);
  }

  private objectPath(bucket: string, key: string): string {
    const name = createHash('sha256').update(key, 'utf8').digest('hex');
    return join(this.bucketDir(bucket), 'objects', `${name}.json`);
  }

  private dataPath(bucket: string, data: string): string {
    return join(this.bucketDir(bucket), 'data', checkedName(data));
  }

  private async objectRecord(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const record = await readJson<ObjectRecord>(this.objectPath(bucket, key));
    // Two keys with one SHA-256 will not happen; if a file says otherwise, it is not this key's.
    return record?.key === key ? record : undefined;
  }
}

/** Runs tasks one at a time per name, in the order they were asked for. */
class Serializer {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(name: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(name) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return result;
  }
}

/** An incremental checksum whose result is base64, as `x-amz-checksum-*` carries it. */
function checksumOf(algorithm: ChecksumAlgorithm): { update(chunk: Buffer): void; base64(): string } {
  if (algorithm === 'crc32') {
    let value = 0;
    return {
      update: (chunk) => {
        value = crc32(chunk, value);
      },
      base64: () => {
        const bytes = Buffer.alloc(4);
        bytes.writeUInt32BE(value);
        return bytes.toString('base64');
      },
    };
  }
  const hash = createHash(algorithm);
  return { update: (chunk) => hash.update(chunk), base64: () => hash.digest('base64') };
}

function metadataOf(record: ObjectRecord): ObjectMetadata {
  return {
    key: record.key,
    size: record.size,
    etag: record.etag,
    contentType: record.contentType,
    lastModified: record.lastModified,
  };
}

function generatedName(): string {
  return randomBytes(16).toString('hex');
}

/** A name read back from a metadata file is used in a path only if the store could have made it. */
function checkedName(name: string): string {
  if (!GENERATED_NAME.test(name))
    throw new Error('a metadata file of the demo store names an invalid data file');
  return name;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function noSuchKey(): S3Error {
  return new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
}

function noSuchUpload(): S3Error {
  return new S3Error(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  );
}
