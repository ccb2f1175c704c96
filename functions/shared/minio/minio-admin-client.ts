import { createHash } from 'node:crypto';
import { BrokerError, CredentialsRejectedError, StoreUnavailableError, storeText } from '../errors';
import { exchange } from '../http/http-exchange';
import { type StoreEndpointPolicy, storeEndpointPolicy } from '../network/store-endpoint-policy';
import { SigV4Presigner } from '../signing/sigv4-presigner';
import { decryptMadmin, encryptMadmin, MadminAlgorithm, type MadminAlgorithmId } from './madmin-crypto';

/** Where and as whom to call a MinIO server's admin API. */
export interface MinioAdminConnection {
  /** e.g. `https://minio.example.org:9000` */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** @default 'us-east-1' */
  region?: string;
  /** PEM bundle for a server with a private CA. */
  caPem?: string;
  /** @default 10_000 */
  timeoutMs?: number;
  /** Key derivation for request bodies. @default PBKDF2 (MinIO accepts it; far cheaper than Argon2id) */
  requestAlgorithm?: MadminAlgorithmId;
}

/** An IAM-style policy document as MinIO parses it (`Version`, `Statement`). */
export type MinioPolicyDocument = { Version: string; Statement: readonly Record<string, unknown>[] };

/** An access key (MinIO "service account") of a parent user. */
export interface ServiceAccountInfo {
  accessKey: string;
  parentUser: string;
  accountStatus: string;
  name?: string;
  description?: string;
  /** ISO time; MinIO answers `1970-01-01T00:00:00Z` (or nothing) for a key that never expires. */
  expiration?: string | null;
  /** True when the key has no inline policy of its own and inherits its parent's. */
  impliedPolicy?: boolean;
  /** Info only: the key's effective policy as JSON text (its inline one unless `impliedPolicy`). */
  policy?: string;
}

export interface NewServiceAccount {
  /** The user the key belongs to and inherits policies from. */
  targetUser: string;
  /** MinIO: 3–20 characters. */
  accessKey: string;
  /** MinIO: 8–40 characters. */
  secretKey: string;
  name?: string;
  description?: string;
  /** ISO time after which MinIO refuses the key (MinIO: 15 minutes to 365 days ahead). */
  expiration?: string;
  /** Inline policy narrowing the parent's (sent as a JSON object: madmin's `json.RawMessage`). */
  policy?: MinioPolicyDocument;
}

/** Changes to an access key (madmin `UpdateServiceAccountReq`). */
export interface ServiceAccountUpdate {
  /**
   * The key's inline policy after the update, or null for none (it inherits its parent's). Not
   * optional: MinIO drops a key's inline policy on every update that carries none, which would
   * silently widen the key to all its parent may do.
   */
  policy: MinioPolicyDocument | null;
  description?: string;
  /** ISO time; `NO_EXPIRATION` removes an expiration. */
  expiration?: string;
  status?: 'on' | 'off';
}

/** The expiration MinIO reads as "never" (its time sentinel, the Unix epoch). */
export const NO_EXPIRATION = '1970-01-01T00:00:00Z';

/** An answer of the admin API that is an error: `code` is MinIO's (e.g. XMinioAdminNoSuchServiceAccount). */
export class MinioAdminError extends Error {
  override readonly name = 'MinioAdminError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ADMIN_PREFIX = '/minio/admin/v3';
const REJECTED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'XMinioAdminInvalidAccessKey',
]);

/**
 * A client for the parts of MinIO's admin API the broker needs (the `minio` npm package has
 * none). Requests are SigV4-signed for service `s3` with `X-Amz-Content-Sha256` over the exact
 * body and an explicit `Content-Length`; bodies are madmin-encrypted with the caller's secret
 * key, and so are the answers that carry credentials.
 */
export class MinioAdminClient {
  private readonly endpoint: URL;
  private readonly signer = new SigV4Presigner();

  /**
   * @param policy where the admin API may be reached: checked on the URL and, after DNS, at
   * connect time (no redirect is followed). @default the process's (`STORE_ENDPOINT_…` variables)
   */
  constructor(
    private readonly connection: MinioAdminConnection,
    private readonly policy: StoreEndpointPolicy = storeEndpointPolicy(),
  ) {
    this.endpoint = new URL(connection.endpoint);
  }

  /** Creates or updates a user (the parent of service accounts), enabled. */
  async addUser(accessKey: string, secretKey: string): Promise<void> {
    await this.call('PUT', '/add-user', { accessKey }, { secretKey, status: 'enabled' });
  }

  /**
   * Sets the policies of a user (replacing any it had); setting the same ones again is not an
   * error. Uses `set-user-or-group-policy`: the newer `idp/builtin/policy/attach` route answered
   * 400 on the MinIO release the tests run.
   */
  async attachPolicies(user: string, policies: string[]): Promise<void> {
    await this.call('PUT', '/set-user-or-group-policy', {
      policyName: policies.join(','),
      userOrGroup: user,
      isGroup: 'false',
    });
  }

  /** Creates an access key with exactly the given key pair for `targetUser`. */
  async addServiceAccount(account: NewServiceAccount): Promise<void> {
    await this.call('PUT', '/add-service-account', {}, account, true);
  }

  /** Changes description, expiration, status or inline policy of an access key. */
  async updateServiceAccount(accessKey: string, update: ServiceAccountUpdate): Promise<void> {
    await this.call(
      'POST',
      '/update-service-account',
      { accessKey },
      {
        ...(update.description === undefined ? {} : { newDescription: update.description }),
        ...(update.expiration === undefined ? {} : { newExpiration: update.expiration }),
        ...(update.policy === null ? {} : { newPolicy: update.policy }),
        ...(update.status === undefined ? {} : { newStatus: update.status }),
      },
    );
  }

  /** Creates or replaces a named policy (the body is the plain policy JSON, not encrypted). */
  async addPolicy(name: string, document: MinioPolicyDocument): Promise<void> {
    await this.call(
      'PUT',
      '/add-canned-policy',
      { name },
      undefined,
      false,
      Buffer.from(JSON.stringify(document)),
    );
  }

  async infoServiceAccount(accessKey: string): Promise<ServiceAccountInfo> {
    const info = (await this.call('GET', '/info-service-account', { accessKey }, undefined, true)) as Omit<
      ServiceAccountInfo,
      'accessKey'
    >;
    return { ...info, accessKey };
  }

  async listServiceAccounts(user: string): Promise<ServiceAccountInfo[]> {
    const answer = (await this.call('GET', '/list-service-accounts', { user }, undefined, true)) as {
      accounts?: ServiceAccountInfo[] | null;
    };
    return answer.accounts ?? [];
  }

  async deleteServiceAccount(accessKey: string): Promise<void> {
    await this.call('DELETE', '/delete-service-account', { accessKey });
  }

  private async call(
    method: string,
    path: string,
    query: Record<string, string>,
    payload?: unknown,
    encryptedAnswer = false,
    plainBody?: Buffer,
  ): Promise<unknown> {
    const body =
      payload === undefined
        ? (plainBody ?? Buffer.alloc(0))
        : await encryptMadmin(
            this.connection.secretKey,
            Buffer.from(JSON.stringify(payload)),
            this.connection.requestAlgorithm ?? MadminAlgorithm.Pbkdf2AesGcm,
          );
    const fullPath = `${this.endpoint.pathname.replace(/\/+$/, '')}${ADMIN_PREFIX}${path}`;
    const headers = this.signer.signHeaders(
      { accessKeyId: this.connection.accessKey, secretAccessKey: this.connection.secretKey },
      {
        method,
        host: this.endpoint.host,
        path: fullPath,
        query,
        headers: { 'content-length': String(body.length) },
        payloadHash: createHash('sha256').update(body).digest('hex'),
        region: this.connection.region ?? 'us-east-1',
        service: 's3',
        now: new Date(),
      },
    );
    const search = new URLSearchParams(query).toString();
    const url = `${this.endpoint.protocol}//${this.endpoint.host}${fullPath}${search ? `?${search}` : ''}`;
    const answer = await exchange(url, {
      method,
      headers,
      body,
      timeoutMs: this.connection.timeoutMs ?? 10_000,
      guard: this.policy,
      ...(this.connection.caPem === undefined ? {} : { ca: this.connection.caPem }),
    }).catch((error: unknown) => {
      if (error instanceof BrokerError) throw error;
      throw new StoreUnavailableError(`MinIO admin API at ${this.endpoint.host} could not be reached`, {
        cause: error,
      });
    });
    if (answer.status < 200 || answer.status >= 300) throw adminError(answer.status, answer.body);
    if (!encryptedAnswer || answer.body.length === 0)
      return answer.body.length === 0 ? {} : JSON.parse(answer.body);
    const plaintext = await decryptMadmin(this.connection.secretKey, answer.bytes);
    return JSON.parse(plaintext.toString('utf8'));
  }
}

/**
 * An error answer of the admin API as an error. MinIO's code and message are kept (operators
 * read them in rotation logs and drift reports), but capped and without control characters: a
 * server could otherwise write escape sequences into a terminal or a 2 KB essay into a report.
 */
function adminError(status: number, body: string): Error {
  let code = `HTTP${status}`;
  let message = `MinIO admin API answered ${status}`;
  try {
    const parsed = JSON.parse(body) as { Code?: unknown; Message?: unknown };
    if (typeof parsed.Code === 'string' && parsed.Code !== '') code = storeText(parsed.Code, 64);
    if (typeof parsed.Message === 'string') message = `${code}: ${storeText(parsed.Message)}`;
  } catch {
    // not JSON: keep the status
  }
  if (REJECTED.has(code) || status === 403) {
    return new CredentialsRejectedError(`MinIO refused the admin credential (${code})`);
  }
  return new MinioAdminError(code, status, message);
}
