import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

/**
 * Where a request may connect (the store-endpoint policy, `network/`, is one): the target URL
 * before anything is sent, and each address a host name resolves to, at connect time.
 */
export interface ConnectGuard {
  /** Throws when the URL's scheme or literal host may not be reached. */
  checkTarget(url: URL): void;
  /** `net.connect`'s lookup: fails the connection when a resolved address may not be reached. */
  lookup: LookupFunction;
  /** Keep-alive agents whose connections go through `lookup`. */
  keepAliveAgents(): { http: HttpAgent; https: HttpsAgent };
}

/** One HTTP request the broker makes itself, its body a string both ways. */
export interface HttpExchange {
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array;
  /**
   * The most the whole exchange may take: connecting, sending, and the answer's last byte. A
   * deadline, not an idle timeout, so a store that trickles bytes cannot hold a caller past it.
   */
  timeoutMs: number;
  /** PEM bundle to trust instead of the system roots (stores with a private CA). */
  ca?: string;
  /**
   * Checks the target and every connection (calls to a bucket's store). Redirects are never
   * followed here, so the one target checked is the only one reached.
   */
  guard?: ConnectGuard;
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

/** An exchange ran past its `timeoutMs` (or had no time left to start). */
export class ExchangeTimeoutError extends Error {
  override readonly name = 'ExchangeTimeoutError';
  constructor(
    readonly host: string,
    readonly timeoutMs: number,
  ) {
    super(`${host} did not answer within ${Math.max(0, Math.round(timeoutMs))} ms`);
  }
}

/**
 * Sends one request over `node:http(s)` and collects the answer within `timeoutMs`. Failures to
 * connect, time-outs and broken answers reject with the underlying error (`ExchangeTimeoutError`
 * for time-outs); callers map them to their own errors.
 */
export function exchange(url: string | URL, request: HttpExchange): Promise<HttpAnswer> {
  const secure = String(url).startsWith('https:');
  if (!(request.timeoutMs > 0)) {
    return Promise.reject(new ExchangeTimeoutError(new URL(url).host, request.timeoutMs));
  }
  const send = secure ? httpsRequest : httpRequest;
  const { guard } = request;
  try {
    guard?.checkTarget(new URL(url));
  } catch (error) {
    return Promise.reject(error);
  }
  const shared = guard === undefined ? agents : guard.keepAliveAgents();
  // A private CA needs an agent of its own (a shared agent would reuse sockets trusted otherwise);
  // a guarded one also a socket of its own, so it never rides a connection nobody checked.
  const connection =
    request.ca === undefined
      ? { agent: secure ? shared.https : shared.http }
      : { ca: request.ca, ...(guard === undefined ? {} : { agent: false as const, lookup: guard.lookup }) };
  return new Promise((resolve, reject) => {
    const outgoing = send(
      url,
      { method: request.method, headers: request.headers, ...connection },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          clearTimeout(timer);
          const bytes = Buffer.concat(chunks);
          resolve({ status: incoming.statusCode ?? 0, body: bytes.toString('utf8'), bytes });
        });
        incoming.on('error', fail);
      },
    );
    // Rejects at once, from the timer itself, rather than after the socket's own teardown.
    const timer = setTimeout(() => {
      const error = new ExchangeTimeoutError(new URL(url).host, request.timeoutMs);
      reject(error);
      outgoing.destroy(error);
    }, request.timeoutMs);
    function fail(error: Error) {
      clearTimeout(timer);
      reject(error);
    }
    outgoing.on('error', fail);
    outgoing.end(request.body);
  });
}
