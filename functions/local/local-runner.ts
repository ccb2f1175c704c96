import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handleAdminApi } from '../admin/admin-api';
import { wireBucketAdmin } from '../admin/admin-wiring';
import { AdminEnvironmentSchema } from '../admin/environment';
import { AuditLog } from '../presign/audit-log';
import { presignDeadline } from '../presign/budgets';
import { PresignEnvironmentSchema } from '../presign/environment';
import { brokerOpenApiDocument } from '../presign/openapi';
import { handlePresignApi, type PresignApiEvent } from '../presign/presign-api';
import { wirePresignService } from '../presign/presign-wiring';
import { presignTelemetry } from '../presign/telemetry';
import type { BucketAdmin } from '../shared/admin/bucket-admin';
import { FileSecretResolver } from '../shared/backends/kubernetes/file-secret-resolver';
import { readEnvironment } from '../shared/config/environment';
import { CallerNotAllowedError, ConfigurationError, PayloadTooLargeError } from '../shared/errors';
import { errorResponse, jsonResponse } from '../shared/http/api-response';
import { isLoopbackAddress, isLoopbackHostname } from '../shared/http/loopback';
import { FileBucketRegistry } from '../shared/registry/file-bucket-registry';
import { staticCredentialsFrom } from '../shared/secrets/secret-shapes';
import { type DemoBackingStore, startDemoBackingStore } from './demo-backing-store';
import { type LocalRunnerEnvironment, readLocalRunnerEnvironment } from './environment';

export interface LocalRunnerOptions {
  /**
   * The loopback address to bind: 127.0.0.0/8, `::1` or `localhost`; anything else is refused.
   * @default env.FBB_LOCAL_HOST, else '127.0.0.1'
   */
  host?: string;
  /** 0 picks a free port. @default env.PORT, else 8787 */
  port?: number;
  /** The environment to read settings from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface LocalRunner {
  url: string;
  /** `files` (registry file + secrets directory) or `aws` (DynamoDB + Secrets Manager). */
  mode: 'files' | 'aws';
  /** The demo bucket's local store (files mode, unless FENCE_DEMO_ENDPOINT names another). */
  store?: { kind: 'minio' | 'embedded'; endpoint: string };
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 6 * 1024 * 1024;
/**
 * The store-endpoint policy of one machine: its stores (the demo store, MinIO, LocalStack) listen
 * on loopback over http, which a deployment refuses. Set in the environment to change it.
 */
const LOCAL_STORE_ENDPOINTS = {
  STORE_ENDPOINT_ALLOW_HTTP: 'true',
  STORE_ENDPOINT_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128,localhost',
};
export const DEMO_BUCKET = 'demo-bucket';
/** An empty bucket on the local store, for trying registration (docs/managing-buckets.md). */
export const SPARE_DEMO_BUCKET = 'my-dataset';

/**
 * The presign API on one machine, through the same `handlePresignApi` the Lambda runs. With no
 * AWS settings it keeps the registry in a JSON file and secrets as files (the Kubernetes
 * mounted-secret style), seeded with a demo bucket; with `REGISTRY_TABLE_NAME` (and
 * `AWS_ENDPOINT_URL` for an emulator) it uses DynamoDB and Secrets Manager like the Lambda.
 * It does not check SigV4: it is for one person at this machine. It binds to loopback only and
 * answers only requests that name a loopback host in `Host` and carry no `Origin` (see
 * `refusedCaller`).
 */
export async function startLocalRunner(options: LocalRunnerOptions = {}): Promise<LocalRunner> {
  const env: NodeJS.ProcessEnv = { ...LOCAL_STORE_ENDPOINTS, ...(options.env ?? process.env) };
  const local = readLocalRunnerEnvironment(env);
  // A variable of its own, not HOST: shells and containers set HOST for other reasons (zsh to the
  // machine's name, images to 0.0.0.0), which would put an API without authentication on the network.
  const host = options.host ?? local.FBB_LOCAL_HOST;
  if (!isLoopbackHostname(host)) {
    throw new ConfigurationError(
      `the local runner binds to loopback only (127.0.0.1, another 127.x.x.x, ::1 or localhost), not to ${host}: it answers without authentication`,
    );
  }
  const mode = local.REGISTRY_TABLE_NAME ? 'aws' : 'files';
  const logger = new Logger({ serviceName: 'fence-bucket-broker-local' });
  const adminAudit = (line: object) => logger.info('admin', { ...line });
  let wiring: ReturnType<typeof wirePresignService>;
  let admin: BucketAdmin;
  let store: DemoBackingStore | undefined;
  if (mode === 'aws') {
    wiring = wirePresignService(readEnvironment(PresignEnvironmentSchema, env));
    admin = wireBucketAdmin(readEnvironment(AdminEnvironmentSchema, env), { audit: adminAudit });
  } else {
    const dataDir = resolve(local.FENCE_LOCAL_DIR);
    const secretsDir = join(dataDir, 'secrets');
    const registry = new FileBucketRegistry(join(dataDir, 'registry.json'));
    const secrets = new FileSecretResolver(secretsDir);
    const settings = {
      REGISTRY_CACHE_TTL_SECONDS: '2',
      FENCE_SECRET_CACHE_TTL_SECONDS: '5',
      ...env,
      REGISTRY_TABLE_NAME: 'local-file',
      FENCE_SECRETS_BACKEND: 'k8s',
      FENCE_SECRETS_DIR: secretsDir,
    };
    const environment = readEnvironment(PresignEnvironmentSchema, settings);
    store = await demoBucket(registry, secrets, dataDir, environment.FENCE_SECRETS_PREFIX, local, env);
    wiring = wirePresignService(environment, { registry });
    admin = wireBucketAdmin(readEnvironment(AdminEnvironmentSchema, settings), {
      audit: adminAudit,
      registry,
      backends: { k8s: { read: secrets, admin: secrets } },
    });
  }
  const telemetry = presignTelemetry({
    logger,
    audit: new AuditLog('fence-bucket-broker-local'),
    secrets: wiring.secrets,
    lookup: wiring.lookup,
    sampleRate: 1,
  });
  const openApi = JSON.stringify(brokerOpenApiDocument({ authentication: 'none' }));

  // Room for the longest query the document allows (a 4,096-character list cursor, percent-encoded
  // UTF-8), which Node's 16 KiB default would answer with a bare 431 outside the API's error shape.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, (request, response) => {
    const requestId = crypto.randomUUID();
    void serve(request, response, requestId).catch((error: unknown) => {
      telemetry.unexpected(error);
      send(response, errorResponse(error, requestId));
    });
  });
  async function serve(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
    const refusal = refusedCaller(request, listeningPort());
    if (refusal !== undefined) {
      request.resume();
      return send(response, errorResponse(refusal, requestId));
    }
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method === 'GET' && path === '/healthz')
      return send(response, jsonResponse(200, { status: 'ok', mode }));
    if (request.method === 'GET' && path === '/openapi.json') {
      return send(response, {
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: openApi,
      });
    }
    const body = await readBody(request);
    const event: PresignApiEvent = {
      httpMethod: request.method ?? 'GET',
      path,
      // As API Gateway sends it (every media type binary): the handler decodes, strictly.
      body: body instanceof PayloadTooLargeError ? null : body.toString('base64'),
      isBase64Encoded: true,
      requestContext: {
        identity: { userArn: 'local', caller: 'local' },
      } as APIGatewayProxyEvent['requestContext'],
      ...(body instanceof PayloadTooLargeError ? { bodyRefusal: body } : {}),
    };
    if (path.startsWith('/v1/admin/')) {
      // Loopback only and no SigV4 here: every caller is the operator at this machine.
      const query = new URL(request.url ?? '/', 'http://local').searchParams;
      return send(
        response,
        await handleAdminApi({ ...event, queryStringParameters: Object.fromEntries(query) }, requestId, {
          admin,
          allowedCallers: undefined,
          unexpected: telemetry.unexpected,
        }),
      );
    }
    // No Lambda context here: the function timeout stands in for its remaining time.
    const invocation = { requestId, deadline: presignDeadline(undefined) };
    send(response, await handlePresignApi(event, invocation, { service: wiring.service, ...telemetry }));
  }

  try {
    await new Promise<void>((ready, failed) => {
      server.once('error', failed);
      server.listen(options.port ?? local.PORT, host, ready);
    });
  } catch (error) {
    await store?.close();
    throw error;
  }
  const address = server.address();
  // `localhost` is a name: what it resolved to is what counts.
  if (typeof address !== 'object' || address === null || !isLoopbackAddress(address.address)) {
    await new Promise((closed) => server.close(closed));
    await store?.close();
    throw new ConfigurationError(`the local runner's address ${host} did not resolve to loopback`);
  }
  const listeningPort = () => address.port;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    mode,
    ...(store === undefined ? {} : { store: { kind: store.kind, endpoint: store.endpoint } }),
    close: async () => {
      await new Promise<void>((done) => server.close(() => done()));
      await store?.close();
    },
  };
}

/**
 * Why a request may not reach the runner, if it may not. A browser page can make requests to
 * loopback: cross-origin ones carry `Origin` (a `text/plain` POST needs no preflight, so without
 * this check any web page could register a bucket or presign), and a DNS-rebinding page reaches
 * the port under its own name, which it cannot keep out of `Host`. Command-line clients (curl,
 * the CLI, the Python client, Fence) send `Host` as they were told and no `Origin`.
 */
function refusedCaller(request: IncomingMessage, port: number): CallerNotAllowedError | undefined {
  if (request.headers.origin !== undefined) {
    return new CallerNotAllowedError(
      'the local runner refuses requests with an Origin header (from a web page): it answers without authentication, to this machine only',
    );
  }
  const hostHeader = request.headers.host ?? '';
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(hostHeader);
  const named = match?.[1] ?? '';
  const namedPort = match?.[2] === undefined ? 80 : Number(match[2]);
  if (!isLoopbackHostname(named) || namedPort !== port) {
    return new CallerNotAllowedError(
      `the local runner answers only requests to 127.0.0.1:${port}, localhost:${port} or [::1]:${port} (the Host header), not to ${JSON.stringify(hostHeader.slice(0, 100))}`,
    );
  }
  return undefined;
}

function send(
  response: ServerResponse,
  result: { statusCode: number; headers?: Record<string, unknown>; body: string },
): void {
  response.writeHead(result.statusCode, result.headers as Record<string, string> | undefined);
  response.end(result.body);
}

/**
 * The request's bytes, or the refusal of a body over Lambda's payload limit. An oversized body
 * is still read to its end (and dropped), so the client gets the 413 rather than a reset.
 */
async function readBody(request: IncomingMessage): Promise<Buffer | PayloadTooLargeError> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) {
    return new PayloadTooLargeError(
      `request body is larger than ${MAX_BODY_BYTES} bytes (6 MiB, the Lambda payload limit)`,
    );
  }
  return Buffer.concat(chunks);
}

/**
 * The demo bucket: a record and its secret (seeded on first start), and the local store it lives
 * on (started every time, with the secret's keys), so the quick start's URLs really upload and
 * download. `FENCE_DEMO_ENDPOINT` (with `FENCE_DEMO_ACCESS_KEY_ID` and
 * `FENCE_DEMO_SECRET_ACCESS_KEY`) points the demo bucket at a store of your own instead.
 */
async function demoBucket(
  registry: FileBucketRegistry,
  secrets: FileSecretResolver,
  dataDir: string,
  prefix: string,
  local: LocalRunnerEnvironment,
  env: NodeJS.ProcessEnv,
): Promise<DemoBackingStore | undefined> {
  let record = await registry.getByName(DEMO_BUCKET);
  if (record === undefined) {
    await mkdir(dataDir, { recursive: true });
    const secretRef = `${prefix}minio/${DEMO_BUCKET}`;
    await secrets.put(secretRef, {
      access_key_id: local.FENCE_DEMO_ACCESS_KEY_ID ?? `demo${randomBytes(6).toString('hex')}`,
      secret_access_key: local.FENCE_DEMO_SECRET_ACCESS_KEY ?? randomBytes(24).toString('base64url'),
    });
    record = await registry.create({
      bucket_name: DEMO_BUCKET,
      provider: 'minio',
      auth_mode: 'static',
      secrets_backend: 'k8s',
      secret_ref: secretRef,
      endpoint: local.FENCE_DEMO_ENDPOINT ?? `http://127.0.0.1:${local.FENCE_DEMO_STORE_PORT}`,
      region: 'us-east-1',
      allowed_ops: ['download', 'upload', 'multipart'],
    });
  }
  if (
    local.FENCE_DEMO_ENDPOINT !== undefined ||
    local.FENCE_DEMO_STORE === 'none' ||
    record.secret_ref === null
  ) {
    return undefined;
  }
  const keys = staticCredentialsFrom(record.secret_ref, await secrets.get(record.secret_ref));
  const wanted = local.FENCE_DEMO_STORE_PORT;
  const store = await startDemoBackingStore({
    directory: join(dataDir, 'store'),
    accessKeyId: keys.access_key_id,
    secretAccessKey: keys.secret_access_key,
    buckets: [DEMO_BUCKET, SPARE_DEMO_BUCKET],
    port: wanted === 0 ? 0 : Number(new URL(record.endpoint ?? `http://127.0.0.1:${wanted}`).port || wanted),
    choice: local.FENCE_DEMO_STORE,
    env,
  });
  // A store on a new port (tests ask for any free one): the record follows it.
  if (record.endpoint !== store.endpoint) {
    await registry.update(record.id, record.revision, { endpoint: store.endpoint });
  }
  return store;
}
