import { exchange } from '../../http/http-exchange';

/**
 * A Google API error answer, `{"error": {"code", "message", "status"}}`, named by its canonical
 * `status` (`NOT_FOUND`, `FAILED_PRECONDITION`, …). The message names the HTTP status, the
 * canonical status and the API path only: Google's own text stays on `detail`.
 */
export class GoogleApiError extends Error {
  override readonly name = 'GoogleApiError';
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    readonly apiPath: string,
    readonly detail: string,
  ) {
    super(`Google answered ${httpStatus} ${status} for ${apiPath}`);
  }
}

/** One call to a Google API (or a token endpoint) within `until` (epoch ms). */
export interface GoogleCall {
  method: 'GET' | 'POST' | 'PATCH';
  url: string;
  /** JSON body (objects), or a form (`URLSearchParams`). */
  body?: unknown;
  bearer?: string;
  until: number;
  /** The most one attempt may take. @default 1000 */
  attemptTimeoutMs?: number;
  /** Attempts on network errors, 5xx and 429, including the first. @default 3 */
  maxAttempts?: number;
}

/**
 * Sends `call` over `exchange()`, retrying network errors, 5xx and 429 with jittered backoff
 * while time lasts; resolves with the parsed 2xx body, rejects with `GoogleApiError` (or the
 * exchange's error once time runs out).
 */
// biome-ignore lint/suspicious/noExplicitAny: Google's bodies vary by endpoint; callers check what they read.
export async function callGoogle(call: GoogleCall): Promise<any> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let text = '';
  if (call.body instanceof URLSearchParams) {
    text = call.body.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (call.body !== undefined) {
    text = JSON.stringify(call.body);
    headers['content-type'] = 'application/json';
  }
  if (call.method !== 'GET') headers['content-length'] = String(Buffer.byteLength(text));
  if (call.bearer !== undefined) headers.authorization = `Bearer ${call.bearer}`;
  const path = new URL(call.url).pathname;
  const maxAttempts = call.maxAttempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    let failure: unknown;
    try {
      const answer = await exchange(call.url, {
        method: call.method,
        headers,
        body: text,
        timeoutMs: Math.min(call.attemptTimeoutMs ?? 1000, call.until - Date.now()),
      });
      const body = parse(answer.body);
      if (answer.status >= 200 && answer.status < 300) return body;
      failure = new GoogleApiError(
        answer.status,
        String(
          body?.error?.status ?? (typeof body?.error === 'string' ? body.error : `HTTP_${answer.status}`),
        ),
        path,
        String(body?.error?.message ?? body?.error_description ?? ''),
      );
      if (answer.status < 500 && answer.status !== 429) throw failure;
    } catch (error) {
      if (error === failure && error instanceof GoogleApiError) throw error;
      failure = error;
    }
    const pause = Math.random() * 50 * 2 ** attempt;
    if (attempt >= maxAttempts || Date.now() + pause >= call.until) throw failure;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** The broker could not get a Google access token (refused, misconfigured, unreachable). */
export class GoogleCredentialsError extends Error {
  override readonly name = 'GoogleCredentialsError';
  constructor(description: string, cause: unknown) {
    super(`the broker could not get a Google access token (${description})`, { cause });
  }
}

/**
 * What an authorized call needs of a token cache (`GoogleAccessTokens` in google-credentials.ts,
 * which calls Google through this file: the type lives here so the two do not import each other).
 */
export interface AccessTokenSource {
  readonly source: { readonly description: string };
  /** A token valid beyond `until` (epoch ms). */
  token(until: number): Promise<string>;
  /** Drops a token Google refused, so the next call gets a new one. */
  forget(token: string): void;
}

/**
 * One call to a Google API with a bearer token from `tokens`; a 401 (a revoked or expired token)
 * drops that token and tries once more with a new one. Token failures reject with
 * `GoogleCredentialsError`, so callers tell "no identity" from "the API refused".
 */
export async function callGoogleAuthorized(
  tokens: AccessTokenSource,
  call: Omit<GoogleCall, 'bearer'>,
): ReturnType<typeof callGoogle> {
  for (let retried = false; ; retried = true) {
    let token: string;
    try {
      token = await tokens.token(call.until);
    } catch (error) {
      throw new GoogleCredentialsError(tokens.source.description, error);
    }
    try {
      return await callGoogle({ ...call, bearer: token });
    } catch (error) {
      if (error instanceof GoogleApiError && error.httpStatus === 401 && !retried) {
        tokens.forget(token);
        continue;
      }
      throw error;
    }
  }
}

// biome-ignore lint/suspicious/noExplicitAny: see callGoogle.
function parse(text: string): any {
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
