import { wireBucketAdmin } from '../admin/admin-wiring';
import { AdminEnvironmentSchema } from '../admin/environment';
import type { AdminAuditLine, BucketAdmin, ValidationReport } from '../shared/admin/bucket-admin';
import { type AwsCredentials, credentialsFromEnvironment } from '../shared/aws/aws-json-client';
import { readEnvironment } from '../shared/config/environment';
import { exchange } from '../shared/http/http-exchange';
import { isLoopbackHostname } from '../shared/http/loopback';
import type { BucketRecord } from '../shared/registry/bucket-record';
import type { BucketPage } from '../shared/registry/bucket-registry';
import { SigV4Presigner } from '../shared/signing/sigv4-presigner';

export interface RotationStarted {
  bucket: string;
  secret_ref: string;
  version_id: string;
}

/** What the CLI asks of the admin side, in process or through the admin API: the same operations. */
export interface AdminOperations {
  register(body: Record<string, unknown>, options: { validate: boolean }): Promise<BucketRecord>;
  list(query: Record<string, string | number>): Promise<BucketPage>;
  get(idOrName: string): Promise<BucketRecord>;
  patch(idOrName: string, body: Record<string, unknown>): Promise<BucketRecord>;
  rotate(idOrName: string): Promise<RotationStarted>;
  validate(idOrName: string): Promise<ValidationReport>;
}

/** An error answer of the admin API (or the core's own error, in process), with its stable code. */
export class AdminOperationError extends Error {
  override readonly name = 'AdminOperationError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/**
 * The admin core in this process, with the operator's AWS credentials (the SDK's chain:
 * `AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, …).
 */
export function inProcessAdmin(
  env: NodeJS.ProcessEnv,
  options: {
    audit?: (line: AdminAuditLine) => void;
    /** Warnings (a write-through to the DynamoDB mirror that failed). @default stderr */
    warn?: (message: string, details: Record<string, unknown>) => void;
    caller?: () => Promise<string>;
  } = {},
): AdminOperations {
  const environment = readEnvironment(AdminEnvironmentSchema, env);
  const audit =
    options.audit ?? ((line: AdminAuditLine) => process.stderr.write(`${JSON.stringify({ audit: line })}\n`));
  const warn =
    options.warn ??
    ((message: string, details: Record<string, unknown>) =>
      process.stderr.write(`${JSON.stringify({ warning: message, ...details })}\n`));
  const admin: BucketAdmin = wireBucketAdmin(environment, { audit, warn });
  let caller: Promise<string> | undefined;
  const context = async () => {
    caller ??= (options.caller ?? callerIdentity)().catch(() => `cli:${env.USER ?? 'unknown'}`);
    return { requestId: crypto.randomUUID(), caller: await caller };
  };
  return {
    register: async (body, { validate }) => admin.register(body, await context(), { validate }),
    list: (query) => admin.list(query),
    get: (idOrName) => admin.get(idOrName),
    patch: async (idOrName, body) => admin.patch(idOrName, body, await context()),
    rotate: async (idOrName) => admin.rotate(idOrName, await context()),
    validate: async (idOrName) => admin.validate(idOrName, await context()),
  };
}

/** The operator's ARN, for the audit line and the tags of secrets they create. */
export async function callerIdentity(): Promise<string> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const answer = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  return answer.Arn ?? 'unknown';
}

/**
 * The admin API over HTTPS, SigV4-signed for `execute-api` with the operator's credentials. A
 * loopback `http://` URL (the local runner) is called unsigned when no credentials are found.
 */
export function adminApiClient(
  baseUrl: string,
  options: { region?: string; credentials?: () => Promise<AwsCredentials>; timeoutMs?: number } = {},
): AdminOperations {
  const base = new URL(baseUrl.replace(/\/+$/, ''));
  const region =
    options.region ??
    /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(base.host)?.[1] ??
    process.env.AWS_REGION ??
    'us-east-1';
  const signer = new SigV4Presigner();
  const credentials = options.credentials ?? credentialsFromEnvironment;
  const loopback = base.protocol === 'http:' && isLoopbackHostname(base.hostname);

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    query: Record<string, string> = {},
  ): Promise<T> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const search = new URLSearchParams(query).toString();
    const url = new URL(
      `${base.pathname.replace(/\/+$/, '')}/v1/admin/${path}${search ? `?${search}` : ''}`,
      base.origin,
    );
    let headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
    };
    const signing = await credentials().catch((error: unknown) => {
      if (loopback) return undefined;
      throw error;
    });
    if (signing !== undefined) {
      headers = signer.signHeaders(signing, {
        method,
        host: url.host,
        path: url.pathname,
        query,
        headers,
        body: text,
        region,
        service: 'execute-api',
        now: new Date(),
      });
    }
    const answer = await exchange(url, {
      method,
      headers,
      body: text,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    const parsed = answer.body === '' ? {} : (JSON.parse(answer.body) as Record<string, unknown>);
    if (answer.status >= 200 && answer.status < 300) return parsed as T;
    const error = (parsed.error ?? {}) as { code?: string; message?: string; request_id?: string };
    throw new AdminOperationError(
      answer.status,
      error.code ?? `http_${answer.status}`,
      error.message ?? `the admin API answered ${answer.status}`,
      error.request_id,
    );
  }

  const id = (idOrName: string) => encodeURIComponent(idOrName);
  return {
    register: (body, { validate }) => call('POST', 'buckets', body, validate ? {} : { validate: 'false' }),
    list: (query) =>
      call(
        'GET',
        'buckets',
        undefined,
        Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])),
      ),
    get: (idOrName) => call('GET', `buckets/${id(idOrName)}`),
    patch: (idOrName, body) => call('PATCH', `buckets/${id(idOrName)}`, body),
    rotate: (idOrName) => call('POST', `buckets/${id(idOrName)}/rotate`, {}),
    validate: (idOrName) => call('POST', `buckets/${id(idOrName)}/validate`, {}),
  };
}
