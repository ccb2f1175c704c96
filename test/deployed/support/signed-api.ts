import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** Fake credentials a test signs API calls with; the emulated API Gateway maps them to a role. */
export interface TestCaller {
  accessKeyId: string;
  secretAccessKey: string;
  /** The role the emulated API Gateway reports as the caller. */
  arn: string;
}

/**
 * Calls the emulated API Gateway as a SigV4 client does (service `execute-api`): a JSON body,
 * answered with the status and the parsed JSON body (undefined when empty).
 */
export async function callApi(
  baseUrl: string,
  caller: TestCaller,
  region: string,
  route: { method: 'GET' | 'POST' | 'PATCH'; path: string; body?: unknown },
): Promise<{ status: number; body: unknown }> {
  const url = new URL(route.path.replace(/^\//, ''), baseUrl);
  const body = route.body === undefined ? undefined : JSON.stringify(route.body);
  const request = new HttpRequest({
    method: route.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    headers: {
      host: url.host,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
  });
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    sha256: Sha256,
    credentials: { accessKeyId: caller.accessKeyId, secretAccessKey: caller.secretAccessKey },
  });
  const signed = await signer.sign(request);
  const response = await fetch(url, {
    method: route.method,
    headers: signed.headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}
