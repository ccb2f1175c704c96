import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** One HTTP request the broker makes itself, its body a string both ways. */
export interface HttpExchange {
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array;
  timeoutMs: number;
  /** PEM bundle to trust instead of the system roots (stores with a private CA). */
  ca?: string;
}

export interface HttpAnswer {
  status: number;
  /** The answer as UTF-8 text. */
  body: string;
  /** The answer's bytes, for binary payloads. */
  bytes: Buffer;
}

// Keep-alive: the hot path's reads reuse their connections across invocations.
const keepAlive = { keepAlive: true, maxSockets: 50 };
const agents = { http: new HttpAgent(keepAlive), https: new HttpsAgent(keepAlive) };

/**
 * Sends one request over `node:http(s)` and collects the answer. Failures to connect, time-outs
 * and broken answers reject with the underlying error; callers map them to their own errors.
 */
export function exchange(url: string | URL, request: HttpExchange): Promise<HttpAnswer> {
  const secure = String(url).startsWith('https:');
  const send = secure ? httpsRequest : httpRequest;
  // A private CA needs an agent of its own (a shared agent would reuse sockets trusted otherwise).
  const connection =
    request.ca === undefined ? { agent: secure ? agents.https : agents.http } : { ca: request.ca };
  return new Promise((resolve, reject) => {
    const outgoing = send(
      url,
      { method: request.method, headers: request.headers, timeout: request.timeoutMs, ...connection },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: incoming.statusCode ?? 0, body: bytes.toString('utf8'), bytes });
        });
        incoming.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`request to ${new URL(url).host} timed out`)));
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}
