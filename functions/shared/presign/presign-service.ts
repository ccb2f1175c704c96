import type {
  BucketCredentialsService,
  GcsSigningCredentials,
  S3SigningCredentials,
} from '../credentials/bucket-credentials';
import {
  BrokerError,
  BucketSuspendedError,
  InvalidRequestError,
  OperationNotAllowedError,
  UnknownBucketError,
} from '../errors';
import { type BucketOperation, type BucketRecord, DEFAULT_MAX_EXPIRES_IN } from '../registry/bucket-record';
import type { CachedBucketLookup } from '../registry/cached-bucket-lookup';
import { GcsV4Presigner } from './gcs-v4-presigner';
import { objectLocation } from './object-location';
import type {
  MultipartAbortRequest,
  MultipartCompleteRequest,
  MultipartInitRequest,
  MultipartPartsRequest,
  PresignedUrl,
  PresignMethod,
  PresignRequest,
} from './presign-requests';
import type { S3MultipartClient } from './s3-multipart-client';
import { encodeS3Path, type SigV4Presigner } from './sigv4-presigner';

/** Per-request facts the service needs besides the body. */
export interface PresignContext {
  requestId: string;
  /**
   * Epoch milliseconds by which every outbound call (registry, secrets, STS, store) must be
   * over, so the caller still gets an answer (503 with Retry-After) before the function's
   * timeout. Absent: each call has only its own budget.
   */
  deadline?: number;
}

/** What a request touched, for the audit line (never a secret). */
export interface PresignAudit {
  record?: BucketRecord;
}

export interface PresignServiceDependencies {
  buckets: Pick<CachedBucketLookup, 'getByName'>;
  credentials: Pick<BucketCredentialsService, 'credentialsFor'>;
  presigner: SigV4Presigner;
  multipart: S3MultipartClient;
  /** Signs GCS V4 URLs (provider gcp). @default a new GcsV4Presigner */
  gcsPresigner?: GcsV4Presigner;
  /** @default Date.now */
  clock?: () => number;
}

/** Concurrent signBlob calls of one GCS batch (workload identity signs each URL remotely). */
const GCS_BATCH_CONCURRENCY = 16;

const OPERATION_OF: Record<PresignMethod, BucketOperation> = {
  GET: 'download',
  HEAD: 'download',
  PUT: 'upload',
};

/** A batch item's outcome: a URL, or the error that single request would have had. */
export type BatchResult = PresignedUrl | { error: { code: string; message: string } };

/**
 * The presign API's core: registry lookup, status and operation checks, credentials, and
 * signing. Knows nothing of Lambda or HTTP; handlers and the local runner call it.
 */
export class PresignService {
  private readonly clock: () => number;
  private readonly gcs: GcsV4Presigner;

  constructor(private readonly deps: PresignServiceDependencies) {
    this.clock = deps.clock ?? Date.now;
    this.gcs = deps.gcsPresigner ?? new GcsV4Presigner();
  }

  async presign(
    bucketName: string,
    request: PresignRequest,
    context: PresignContext,
    audit: PresignAudit = {},
  ): Promise<PresignedUrl> {
    const record = await this.activeRecord(bucketName, [OPERATION_OF[request.method]], audit, context);
    const lifetime = this.requestedLifetime(record, request.expires_in);
    const signing = await this.deps.credentials.credentialsFor(record, {
      lifetimeMs: lifetime * 1000,
      requestId: context.requestId,
      deadline: context.deadline,
    });
    if ('gcs' in signing) return this.signGcs(record, signing, request, lifetime, context.deadline);
    return this.sign(record, signing, request, lifetime);
  }

  /**
   * Presigns each item on its own: an item that failed to parse (a `BrokerError` in its place)
   * or whose operation is not allowed becomes an error entry; the others are signed.
   */
  async presignBatch(
    bucketName: string,
    items: readonly (PresignRequest | BrokerError)[],
    context: PresignContext,
    audit: PresignAudit = {},
  ): Promise<BatchResult[]> {
    const record = await this.activeRecord(bucketName, [], audit, context);
    const signable = items.filter(
      (item): item is PresignRequest =>
        !(item instanceof BrokerError) && record.allowed_ops.includes(OPERATION_OF[item.method]),
    );
    // Credentials are fetched once, only if some item may be signed at all.
    const signing =
      signable.length > 0
        ? await this.deps.credentials.credentialsFor(record, {
            lifetimeMs:
              Math.max(...signable.map((item) => this.requestedLifetime(record, item.expires_in))) * 1000,
            requestId: context.requestId,
            deadline: context.deadline,
          })
        : undefined;
    if (signing !== undefined && 'gcs' in signing) {
      // Each GCS signature may be a signBlob call: a few at a time, each item's outcome its own.
      const results: BatchResult[] = new Array(items.length);
      let next = 0;
      const worker = async () => {
        for (let index = next++; index < items.length; index = next++) {
          const item = items[index];
          try {
            if (item === undefined || item instanceof BrokerError) throw item;
            this.checkOperation(record, OPERATION_OF[item.method]);
            const lifetime = this.requestedLifetime(record, item.expires_in);
            results[index] = await this.signGcs(record, signing, item, lifetime, context.deadline);
          } catch (error) {
            if (!(error instanceof BrokerError)) throw error;
            results[index] = { error: { code: error.code, message: error.message } };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(GCS_BATCH_CONCURRENCY, items.length) }, worker));
      return results;
    }
    return items.map((item) => {
      try {
        if (item instanceof BrokerError) throw item;
        this.checkOperation(record, OPERATION_OF[item.method]);
        if (signing === undefined) throw new OperationNotAllowedError('no credentials');
        return this.sign(record, signing, item, this.requestedLifetime(record, item.expires_in));
      } catch (error) {
        if (!(error instanceof BrokerError)) throw error;
        return { error: { code: error.code, message: error.message } };
      }
    });
  }

  async initiateMultipart(
    bucketName: string,
    request: MultipartInitRequest,
    context: PresignContext,
    audit: PresignAudit = {},
  ) {
    const { record, signing } = await this.multipartAccess(bucketName, context, audit);
    const uploadId = await this.deps.multipart.initiate(
      objectLocation(record, request.key),
      signing,
      request.content_type,
      context,
    );
    return { upload_id: uploadId };
  }

  async presignParts(
    bucketName: string,
    request: MultipartPartsRequest,
    context: PresignContext,
    audit: PresignAudit = {},
  ) {
    const record = await this.activeRecord(bucketName, ['multipart'], audit, context);
    refuseGcsMultipart(record);
    const lifetime = this.requestedLifetime(record, request.expires_in);
    const signing = (await this.deps.credentials.credentialsFor(record, {
      lifetimeMs: lifetime * 1000,
      requestId: context.requestId,
      deadline: context.deadline,
    })) as S3SigningCredentials;
    const parts = request.part_numbers.map((partNumber) => ({
      part_number: partNumber,
      url: this.sign(record, signing, { key: request.key, method: 'PUT' }, lifetime, {
        partNumber: String(partNumber),
        uploadId: request.upload_id,
      }).url,
    }));
    return { parts };
  }

  async completeMultipart(
    bucketName: string,
    request: MultipartCompleteRequest,
    context: PresignContext,
    audit: PresignAudit = {},
  ) {
    const { record, signing } = await this.multipartAccess(bucketName, context, audit);
    const etag = await this.deps.multipart.complete(
      objectLocation(record, request.key),
      signing,
      request.upload_id,
      request.parts,
      context,
    );
    return { etag };
  }

  async abortMultipart(
    bucketName: string,
    request: MultipartAbortRequest,
    context: PresignContext,
    audit: PresignAudit = {},
  ) {
    const { record, signing } = await this.multipartAccess(bucketName, context, audit);
    await this.deps.multipart.abort(objectLocation(record, request.key), signing, request.upload_id, context);
  }

  private async multipartAccess(bucketName: string, context: PresignContext, audit: PresignAudit) {
    const record = await this.activeRecord(bucketName, ['multipart'], audit, context);
    refuseGcsMultipart(record);
    // Server-side calls happen now: a minute of credential life is plenty.
    const signing = (await this.deps.credentials.credentialsFor(record, {
      lifetimeMs: 60_000,
      requestId: context.requestId,
      deadline: context.deadline,
    })) as S3SigningCredentials;
    return { record, signing };
  }

  private async activeRecord(
    bucketName: string,
    operations: BucketOperation[],
    audit: PresignAudit,
    context: PresignContext,
  ): Promise<BucketRecord> {
    const record = await this.deps.buckets.getByName(bucketName, context.deadline);
    if (record === undefined) throw new UnknownBucketError(bucketName);
    audit.record = record;
    if (record.status === 'suspended') throw new BucketSuspendedError(bucketName);
    for (const operation of operations) this.checkOperation(record, operation);
    return record;
  }

  private checkOperation(record: BucketRecord, operation: BucketOperation): void {
    if (!record.allowed_ops.includes(operation)) {
      throw new OperationNotAllowedError(
        `operation ${operation} is not allowed on bucket "${record.bucket_name}"`,
      );
    }
  }

  /** The URL lifetime in seconds: the request's (or Fence's default), clamped to the bucket's cap. */
  private requestedLifetime(record: BucketRecord, expiresIn: number | undefined): number {
    return Math.min(expiresIn ?? DEFAULT_MAX_EXPIRES_IN, record.max_expires_in);
  }

  /** A GCS V4 URL (provider gcp), signed with the bucket's key or through IAM signBlob. */
  private async signGcs(
    record: BucketRecord,
    signing: GcsSigningCredentials,
    request: Pick<PresignRequest, 'key' | 'method' | 'content_type' | 'requester_pays' | 'audit'>,
    lifetime: number,
    deadline: number | undefined,
  ): Promise<PresignedUrl> {
    if (request.requester_pays) {
      throw new InvalidRequestError('requester_pays is not available for GCS buckets yet', 'requester_pays');
    }
    const now = Math.floor(this.clock() / 1000) * 1000;
    const location = objectLocation(record, request.key);
    const query: Record<string, string> = {};
    if (request.method !== 'HEAD' && request.audit !== undefined) {
      for (const [field, value] of Object.entries(request.audit))
        if (value !== undefined) query[field] = value;
    }
    const headers: Record<string, string> = {};
    if (request.method === 'PUT' && request.content_type !== undefined)
      headers['content-type'] = request.content_type;
    const url = await this.gcs.presign(signing.gcs, {
      method: request.method,
      protocol: location.protocol,
      host: location.host,
      bucket: record.bucket_name,
      encodedKey: encodeS3Path(request.key),
      query,
      headers,
      expiresIn: lifetime,
      now: new Date(now),
      ...(deadline === undefined ? {} : { deadline }),
    });
    return {
      url,
      method: request.method,
      headers,
      expires_at: new Date(now + lifetime * 1000).toISOString(),
    };
  }

  private sign(
    record: BucketRecord,
    signing: S3SigningCredentials,
    request: Pick<PresignRequest, 'key' | 'method' | 'content_type' | 'requester_pays' | 'audit'>,
    lifetime: number,
    extraQuery?: Record<string, string>,
  ): PresignedUrl {
    const now = Math.floor(this.clock() / 1000) * 1000;
    let expiresIn = lifetime;
    // A URL never outlives the credentials that signed it.
    if (signing.expiresAt !== undefined)
      expiresIn = Math.min(expiresIn, Math.floor((signing.expiresAt - now) / 1000));
    if (expiresIn < 1) throw new InvalidRequestError('the signing credentials have expired', 'expires_in');
    const location = objectLocation(record, request.key);
    const query: Record<string, string> = { ...extraQuery };
    if (request.method !== 'HEAD' && request.audit !== undefined) {
      for (const [field, value] of Object.entries(request.audit))
        if (value !== undefined) query[field] = value;
    }
    if (request.requester_pays) query['x-amz-request-payer'] = 'requester';
    const headers: Record<string, string> = {};
    if (request.method === 'PUT' && request.content_type !== undefined)
      headers['content-type'] = request.content_type;
    const url = this.deps.presigner.presign(signing.credentials, {
      method: request.method,
      protocol: location.protocol,
      host: location.host,
      path: location.path,
      region: location.region,
      query,
      headers,
      expiresIn,
      now: new Date(now),
    });
    return {
      url,
      method: request.method,
      headers,
      expires_at: new Date(now + expiresIn * 1000).toISOString(),
    };
  }
}

/** GCS speaks XML multipart only with OAuth on the server side, which the broker does not make yet. */
function refuseGcsMultipart(record: BucketRecord): void {
  if (record.provider === 'gcp') {
    throw new OperationNotAllowedError(
      `multipart uploads are not available for GCS bucket "${record.bucket_name}" yet: upload with one presigned PUT (up to 5 TiB)`,
    );
  }
}
