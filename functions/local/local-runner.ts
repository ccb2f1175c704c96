import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AuditLog } from '../presign/audit-log';
import { presignDeadline } from '../presign/budgets';
import { PresignEnvironmentSchema } from '../presign/environment';
import { presignOpenApiDocument } from '../presign/openapi';
import { handlePresignApi, type PresignApiEvent } from '../presign/presign-api';
import { wirePresignService } from '../presign/presign-wiring';
import { presignTelemetry } from '../presign/telemetry';
import { readEnvironment } from '../shared/config/environment';
import { PayloadTooLargeError } from '../shared/errors';
import { errorResponse, jsonResponse } from '../shared/http/api-response';
import { FileBucketRegistry } from '../shared/registry/file-bucket-registry';
import { FileSecretResolver } from '../shared/secrets/file-secret-resolver';

export interface LocalRunnerOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8787 */
  port?: number;
  /** The environment to read settings from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface LocalRunner {
  url: string;
  /** `files` (registry file + secrets directory) or `aws` (DynamoDB + Secrets Manager). */
  mode: 'files' | 'aws';
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 6 * 1024 * 1024;
export const DEMO_BUCKET = 'demo-bucket';

/**
 * The presign API on one machine, through the same `handlePresignApi` the Lambda runs. With no
 * AWS settings it keeps the registry in a JSON file and secrets as files (the Kubernetes
 * mounted-secret style), seeded with a demo bucket; with `REGISTRY_TABLE_NAME` (and
 * `AWS_ENDPOINT_URL` for an emulator) it uses DynamoDB and Secrets Manager like the Lambda.
 * It does not check SigV4: it binds to loopback and is for development only.
 */
export async function startLocalRunner(options: LocalRunnerOptions = {}): Promise<LocalRunner> {
  const env = options.env ?? process.env;
  const mode = env.REGISTRY_TABLE_NAME ? 'aws' : 'files';
  const logger = new Logger({ serviceName: 'fence-bucket-broker-local' });
  let wiring: ReturnType<typeof wirePresignService>;
  if (mode === 'aws') {
    wiring = wirePresignService(readEnvironment(PresignEnvironmentSchema, env));
  } else {
    const dataDir = resolve(env.FENCE_LOCAL_DIR ?? '.local');
    const secretsDir = join(dataDir, 'secrets');
    const registry = new FileBucketRegistry(join(dataDir, 'registry.json'));
    await seedDemo(registry, new FileSecretResolver(secretsDir), join(dataDir, 'registry.json'), env);
    const environment = readEnvironment(PresignEnvironmentSchema, {
      REGISTRY_CACHE_TTL_SECONDS: '2',
      FENCE_SECRET_CACHE_TTL_SECONDS: '5',
      ...env,
      REGISTRY_TABLE_NAME: 'local-file',
      FENCE_SECRETS_BACKEND: 'k8s',
      FENCE_SECRETS_DIR: secretsDir,
    });
    wiring = wirePresignService(environment, { registry });
  }
  const telemetry = presignTelemetry({
    logger,
    audit: new AuditLog('fence-bucket-broker-local'),
    secrets: wiring.secrets,
    lookup: wiring.lookup,
    sampleRate: 1,
  });
  const openApi = JSON.stringify(presignOpenApiDocument());

  const server = createServer((request, response) => {
    const requestId = crypto.randomUUID();
    void serve(request, response, requestId).catch((error: unknown) => {
      telemetry.unexpected(error);
      send(response, errorResponse(error, requestId));
    });
  });
  async function serve(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
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
    // No Lambda context here: the function timeout stands in for its remaining time.
    const invocation = { requestId, deadline: presignDeadline(undefined) };
    send(response, await handlePresignApi(event, invocation, { service: wiring.service, ...telemetry }));
  }

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((ready) => server.listen(options.port ?? 8787, host, ready));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://${host}:${port}`,
    mode,
    close: () => new Promise((done) => server.close(() => done())),
  };
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
 * First start: a demo MinIO bucket whose keys live in the secrets directory. Point it at a real
 * MinIO with FENCE_DEMO_ENDPOINT, FENCE_DEMO_ACCESS_KEY_ID and FENCE_DEMO_SECRET_ACCESS_KEY;
 * otherwise the keys are random and the URLs are well-formed but point at nothing.
 */
async function seedDemo(
  registry: FileBucketRegistry,
  secrets: FileSecretResolver,
  registryFile: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (existsSync(registryFile)) return;
  await mkdir(join(registryFile, '..'), { recursive: true });
  await secrets.put('minio/demo-bucket', {
    access_key_id: env.FENCE_DEMO_ACCESS_KEY_ID ?? `demo${randomBytes(6).toString('hex')}`,
    secret_access_key: env.FENCE_DEMO_SECRET_ACCESS_KEY ?? randomBytes(24).toString('base64url'),
  });
  await registry.create({
    bucket_name: DEMO_BUCKET,
    provider: 'minio',
    auth_mode: 'static',
    secrets_backend: 'k8s',
    secret_ref: 'minio/demo-bucket',
    endpoint: env.FENCE_DEMO_ENDPOINT ?? 'http://127.0.0.1:9000',
    region: 'us-east-1',
    allowed_ops: ['download', 'upload', 'multipart'],
  });
}
