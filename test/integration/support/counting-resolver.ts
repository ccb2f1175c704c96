import type { SecretPayload, SecretResolver } from '../../../functions/shared/secrets/secret-resolver';

/** Passes calls through to a real resolver and counts them, to see what the cache lets through. */
export class CountingResolver implements SecretResolver {
  calls = 0;
  constructor(private readonly inner: SecretResolver) {}
  get backend() {
    return this.inner.backend;
  }
  get(ref: string, version?: string | null): Promise<SecretPayload> {
    this.calls++;
    return this.inner.get(ref, version);
  }
  put(ref: string, payload: SecretPayload): Promise<string> {
    return this.inner.put(ref, payload);
  }
}

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public now = 1_000_000) {}
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}
