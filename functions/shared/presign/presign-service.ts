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
import { assertServablePolicy, DEFAULT_RECORD_POLICY, type RecordPolicy } from '../registry/record-policy';
import { GcsV4Presigner } from '../signing/gcs-v4-presigner';
import type { SigV4Presigner } from '../signing/sigv4-presigner';
import type { MultipartStoreClient, StoreAccess } from './multipart-store-client';
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
  multipart: MultipartStoreClient;
  /** Signs GCS V4 URLs (provider gcp). @default a new GcsV4Presigner */
  gcsPresigner?: GcsV4Presigner;
  /**
   * The project billed (`userProject`) when a request to a GCS bucket asks for requester pays
   * (`GCP_REQUESTER_PAYS_PROJECT`). @default the signing service account's project
   */
  gcsRequesterPaysProject?: string;
  /**
   * The deployment's record rules (prefix, cap), checked again on every request: a mirror item
   * is not trusted to hold them. @default DEFAULT_RECORD_POLICY (`gen3/fence/`, 3600 s)
   */
  policy?: RecordPolicy;
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
  private readonly policy: RecordPolicy;
  /** Records that held the policy (it is fixed for the service's life). */
  private readonly servable = new WeakSet<BucketRecord>();

  constructor(private readonly deps: PresignServiceDependencies) {
    this.clock = deps.clock ?? Date.now;
    this.policy = deps.policy ?? DEFAULT_RECORD_POLICY;
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
      return mapConcurrently(items, GCS_BATCH_CONCURRENCY, async (item): Promise<BatchResult> => {
        try {
          if (item instanceof BrokerError) throw item;
          this.checkOperation(record, OPERATION_OF[item.method]);
          const lifetime = this.requestedLifetime(record, item.expires_in);
          return await this.signGcs(record, signing, item, lifetime, context.deadline);
        } catch (error) {
          if (!(error instanceof BrokerError)) throw error;
          return { error: { code: error.code, message: error.message } };
        }
      });
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
    const { record, access } = await this.multipartAccess(bucketName, request, context, audit);
    const uploadId = await this.deps.multipart.initiate(
      objectLocation(record, request.key),
      access,
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
    const lifetime = this.requestedLifetime(record, request.expires_in);
    const signing = await this.deps.credentials.credentialsFor(record, {
      lifetimeMs: lifetime * 1000,
      requestId: context.requestId,
      deadline: context.deadline,
    });
    const part = {
      key: request.key,
      method: 'PUT' as const,
      ...(request.requester_pays === undefined ? {} : { requester_pays: request.requester_pays }),
    };
    const query = (partNumber: number) => ({ partNumber: String(partNumber), uploadId: request.upload_id });
    if ('gcs' in signing) {
      // As in a batch: each part's URL may be a signBlob call.
      const parts = await mapConcurrently(
        request.part_numbers,
        GCS_BATCH_CONCURRENCY,
        async (partNumber) => ({
          part_number: partNumber,
          url: (await this.signGcs(record, signing, part, lifetime, context.deadline, query(partNumber))).url,
        }),
      );
      return { parts };
    }
    const parts = request.part_numbers.map((partNumber) => ({
      part_number: partNumber,
      url: this.sign(record, signing, part, lifetime, query(partNumber)).url,
    }));
    return { parts };
  }

  async completeMultipart(
    bucketName: string,
    request: MultipartCompleteRequest,
    context: PresignContext,
    audit: PresignAudit = {},
  ) {
    const { record, access } = await this.multipartAccess(bucketName, request, context, audit);
    const etag = await this.deps.multipart.complete(
      objectLocation(record, request.key),
      access,
      request.upload_id,
      // Stores refuse parts out of order (InvalidPartOrder); callers may list them in any.
      request.parts.toSorted((first, second) => first.part_number - second.part_number),
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
    const { record, access } = await this.multipartAccess(bucketName, request, context, audit);
    await this.deps.multipart.abort(objectLocation(record, request.key), access, request.upload_id, context);
  }

  /** The record, and how the broker's own multipart calls to its store are authorized. */
  private async multipartAccess(
    bucketName: string,
    request: { requester_pays?: boolean | undefined },
    context: PresignContext,
    audit: PresignAudit,
  ): Promise<{ record: BucketRecord; access: StoreAccess }> {
    const record = await this.activeRecord(bucketName, ['multipart'], audit, context);
    // Server-side calls happen now: a minute of credential life is plenty.
    const signing = await this.deps.credentials.credentialsFor(record, {
      lifetimeMs: 60_000,
      requestId: context.requestId,
      deadline: context.deadline,
    });
    if ('gcs' in signing) {
      return {
        record,
        access: {
          gcs: signing.gcs,
          ...(request.requester_pays ? { userProject: this.billedProject(record, signing) } : {}),
        },
      };
    }
    return { record, access: request.requester_pays ? { ...signing, requesterPays: true } : signing };
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
    // Before any secret is read: a record in the mirror may have been written by anyone with
    // the table (or the Fence DB row behind it), not only by the admin core. The lookup cache
    // hands back the same object until it reloads, so each loaded record is checked once.
    if (!this.servable.has(record)) {
      assertServablePolicy(record, this.policy);
      this.servable.add(record);
    }
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

  /**
   * The URL lifetime in seconds: the request's (or Fence's default), clamped to the bucket's cap
   * and to the deployment's, whatever the record says.
   */
  private requestedLifetime(record: BucketRecord, expiresIn: number | undefined): number {
    return Math.min(expiresIn ?? DEFAULT_MAX_EXPIRES_IN, record.max_expires_in, this.policy.maxExpiresInCap);
  }

  /** A GCS V4 URL (provider gcp), signed with the bucket's key or through IAM signBlob. */
  private async signGcs(
    record: BucketRecord,
    signing: GcsSigningCredentials,
    request: Pick<PresignRequest, 'key' | 'method' | 'content_type' | 'requester_pays' | 'audit'>,
    lifetime: number,
    deadline: number | undefined,
    extraQuery?: Record<string, string>,
  ): Promise<PresignedUrl> {
    const now = Math.floor(this.clock() / 1000) * 1000;
    const location = objectLocation(record, request.key);
    const query: Record<string, string> = { ...extraQuery };
    if (request.method !== 'HEAD' && request.audit !== undefined) {
      for (const [field, value] of Object.entries(request.audit))
        if (value !== undefined) query[field] = value;
    }
    if (request.requester_pays) query.userProject = this.billedProject(record, signing);
    const headers: Record<string, string> = {};
    if (request.method === 'PUT' && request.content_type !== undefined)
      headers['content-type'] = request.content_type;
    const url = await this.gcs.presign(signing.gcs, {
      method: request.method,
      protocol: location.protocol,
      host: location.host,
      bucket: location.bucket,
      encodedKey: location.encodedKey,
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

  /**
   * The project a requester-pays request to a GCS bucket bills (`userProject`): the deployment's
   * choice, else the signing account's own project. Neither is a 400 naming `requester_pays`,
   * not a 5xx: the same request without requester pays may still be served.
   */
  private billedProject(record: BucketRecord, signing: GcsSigningCredentials): string {
    const project = this.deps.gcsRequesterPaysProject ?? signing.project;
    if (project === undefined) {
      throw new InvalidRequestError(
        `requester_pays on GCS bucket "${record.bucket_name}" needs a project to bill, and the signing account ${signing.gcs.email} names none: the deployment must set GCP_REQUESTER_PAYS_PROJECT`,
        'requester_pays',
      );
    }
    return project;
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

/** Runs `task` on each item, at most `limit` at a time; the results keep the items' order. */
async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
