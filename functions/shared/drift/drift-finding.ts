import { BrokerError } from '../errors';

/** A check's negative verdict with its reason: what drifted, named by refs and fields, never values. */
export class DriftFinding extends Error {
  override readonly name = 'DriftFinding';
}

/** A check that got no answer within its time. */
export class CheckTimeoutError extends Error {
  override readonly name = 'CheckTimeoutError';
  constructor(check: string, timeoutMs: number) {
    super(`timeout: no answer within ${timeoutMs} ms (${check})`);
  }
}

/**
 * A failed check's message: a finding or a timeout as it is, one of the broker's errors with its
 * stable code, anything else by its name and a bounded message (SDK and network errors carry
 * no secret values; they may carry hosts and refs).
 */
export function failureMessage(error: unknown): string {
  if (error instanceof DriftFinding || error instanceof CheckTimeoutError) return error.message;
  if (error instanceof BrokerError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 300);
  return 'unexpected error';
}

/**
 * Runs `work`, or rejects with `CheckTimeoutError` after `timeoutMs`. The work is not cancelled
 * (each outbound call has its own budget as well); the check's verdict no longer waits for it.
 */
export async function withTimeout<T>(check: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckTimeoutError(check, timeoutMs)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `each` on every item with at most `concurrency` calls in flight; resolves when all are done. */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  each: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await each(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
