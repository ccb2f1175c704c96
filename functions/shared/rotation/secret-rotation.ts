import * as z from 'zod/mini';
import type { SecretPayload } from '../secrets/secret-resolver';
import { staticCredentialsFrom } from '../secrets/secret-shapes';
import { parseRequest } from '../validation';
import { RotationError, RotationRetirementError } from './rotation-errors';
import type { RotationMetadata, RotationStore } from './rotation-store';

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** The event Secrets Manager sends a rotation function. */
export const RotationEventSchema = z.object({
  Step: z.enum(ROTATION_STEPS),
  SecretId: z.string().check(z.minLength(1), z.maxLength(2048)),
  ClientRequestToken: z.string().check(z.regex(/^[\w-]{32,64}$/, 'must be a client request token')),
});
export type RotationEvent = z.infer<typeof RotationEventSchema>;

/** What one retirement pass did, for the step's log line. */
export interface RetirementSummary {
  managed: number;
  deleted: number;
  updated: number;
  graceSeconds?: number;
}

/** DESIGN.md: log at most the last 4 characters of an access key id. */
export const keyHint = (accessKey: string) => `…${accessKey.slice(-4)}`;

/** What a key store's retirement pass decides from, gathered by the core. */
export interface RetirementContext {
  metadata: RotationMetadata;
  /**
   * Access key id → the staging labels of every labelled version that holds it; the keys of
   * versions that were labelled before this finishSecret moved stages are there with none.
   */
  labels: Map<string, Set<string>>;
}

/** The step's own budget, from the Lambda context: how long the function may still run. */
export interface StepTime {
  remainingMs(): number;
}

/**
 * The thing that holds a secret's keys (MinIO's service accounts, an IAM user's access keys):
 * what each of the four steps does to it. The core (SecretRotation) owns the stage logic and
 * replay safety around these; each method must itself be safe to run again for the same token.
 * `Listing` is what finishSecret's check read of the keys, handed on to the retirement pass.
 */
export interface RotatedKeyStore<Listing = unknown> {
  /** Throws a RotationError when the AWSCURRENT payload is not a secret this store rotates. */
  checkCurrent(metadata: RotationMetadata, current: SecretPayload): Promise<void> | void;
  /** The AWSPENDING payload for the token: every field of `current`, with a new key. */
  createPending(metadata: RotationMetadata, current: SecretPayload, token: string): Promise<SecretPayload>;
  /** After createPending: the payload was stored (or lost a replay's race: `stored` false). */
  pendingStored?(
    metadata: RotationMetadata,
    payload: SecretPayload,
    token: string,
    stored: boolean,
  ): Promise<void>;
  /** setSecret: the pending key made valid in the store. */
  install(metadata: RotationMetadata, pending: SecretPayload): Promise<void>;
  /** testSecret: proves the key pair on the secret's bucket. */
  prove(metadata: RotationMetadata, payload: SecretPayload, time: StepTime | undefined): Promise<void>;
  /** finishSecret, before the move: throws unless the pending key exists in the store. */
  confirm(metadata: RotationMetadata, pending: SecretPayload): Promise<Listing>;
  /** One retirement pass by the grace rule, after the move and on every replayed finishSecret. */
  retire(context: RetirementContext, listed?: Listing): Promise<RetirementSummary>;
}

export interface SecretRotationDependencies<Listing> {
  store: RotationStore;
  keys: RotatedKeyStore<Listing>;
  /** Only secrets whose name starts with this are rotated (the broker's prefix). @default any */
  secretsPrefix?: string;
  /** Structured log of each step (never a secret value; access keys by their last 4 characters). */
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * The four steps of a Secrets Manager rotation (DESIGN.md, "Rotation"), whatever holds the keys.
 * Every step first checks the version stages as AWS's rotation template does, so a replayed or
 * retried step is safe; each step is idempotent per token. finishSecret retires the secret's keys
 * by the grace rule, and does so again when replayed, so a retirement cut short is finished by
 * Secrets Manager's retry.
 */
export class SecretRotation<Listing = unknown> {
  constructor(private readonly deps: SecretRotationDependencies<Listing>) {}

  async run(rawEvent: unknown, time?: StepTime): Promise<void> {
    const event = parseRequest(RotationEventSchema, rawEvent);
    const started = Date.now();
    const metadata = await this.deps.store.describe(event.SecretId);
    if (this.deps.secretsPrefix !== undefined && !metadata.name.startsWith(this.deps.secretsPrefix)) {
      throw new RotationError(
        `secret ${metadata.name} is outside ${this.deps.secretsPrefix}; not rotating it`,
      );
    }
    if (!metadata.rotationEnabled)
      throw new RotationError(`secret ${metadata.name} does not have rotation enabled`);
    const stages = metadata.versions[event.ClientRequestToken];
    if (event.Step === 'testSecret' && !stages?.includes('AWSCURRENT')) {
      await this.testSecret(metadata, event.ClientRequestToken, stages, time);
      this.log(event, metadata, 'done', started);
      return;
    }
    if (stages === undefined) {
      throw new RotationError(
        `secret ${metadata.name} has no version for rotation token ${event.ClientRequestToken}`,
      );
    }
    if (stages.includes('AWSCURRENT')) {
      if (event.Step !== 'finishSecret') {
        this.log(event, metadata, 'already-current', started);
        return;
      }
      // A replayed finishSecret: the stage moved, but retirement may have been cut short.
      const retired = await this.retire(metadata);
      this.log(event, metadata, 'already-current', started, retired);
      return;
    }
    if (!stages.includes('AWSPENDING')) {
      throw new RotationError(`version ${event.ClientRequestToken} of ${metadata.name} is not AWSPENDING`);
    }
    let retired: RetirementSummary | undefined;
    switch (event.Step) {
      case 'createSecret':
        await this.createSecret(metadata, event.ClientRequestToken);
        break;
      case 'setSecret':
        await this.deps.keys.install(metadata, await this.pendingPayload(metadata, event.ClientRequestToken));
        break;
      case 'finishSecret':
        retired = await this.finishSecret(metadata, event.ClientRequestToken);
        break;
    }
    this.log(event, metadata, 'done', started, retired);
  }

  /** A new key as AWSPENDING under the token, unless the token already has one. */
  private async createSecret(metadata: RotationMetadata, token: string): Promise<void> {
    const current = await this.deps.store.read(metadata.arn, 'AWSCURRENT');
    if (current === undefined) throw new RotationError(`secret ${metadata.name} has no AWSCURRENT value`);
    await this.deps.keys.checkCurrent(metadata, current);
    if ((await this.deps.store.read(metadata.arn, 'AWSPENDING', token)) !== undefined) return;
    const pending = await this.deps.keys.createPending(metadata, current, token);
    const stored = await this.deps.store.putPending(metadata.arn, token, pending);
    await this.deps.keys.pendingStored?.(metadata, pending, token, stored);
    // A replay raced us and stored another key under the same token: that one stands.
    if (!stored && (await this.deps.store.read(metadata.arn, 'AWSPENDING', token)) === undefined) {
      throw new RotationError(`AWSPENDING of ${metadata.name} could neither be stored nor read`);
    }
  }

  /**
   * Proves the pending key on its bucket. Secrets Manager also invokes this step alone to test
   * a rotation configuration it does not run at once (RotateSecret with RotateImmediately=false),
   * under a token whose AWSPENDING version holds no new key (AWS documents only that it "creates
   * an AWSPENDING version ... and then removes it"; moto leaves it empty or copies AWSCURRENT).
   * Whenever the token names no AWSPENDING version with a value, the AWSCURRENT key is tested.
   * Nothing is created or deleted either way.
   */
  private async testSecret(
    metadata: RotationMetadata,
    token: string,
    stages: string[] | undefined,
    time: StepTime | undefined,
  ): Promise<void> {
    const pending = stages?.includes('AWSPENDING')
      ? await this.deps.store.read(metadata.arn, 'AWSPENDING', token)
      : undefined;
    await this.deps.keys.prove(metadata, pending ?? (await this.currentPayload(metadata)), time);
  }

  /**
   * Checks that the pending key exists in the store, moves AWSCURRENT to the token (AWSPREVIOUS
   * follows), then retires the secret's keys by the grace rule.
   */
  private async finishSecret(metadata: RotationMetadata, token: string): Promise<RetirementSummary> {
    const currentVersion = Object.entries(metadata.versions).find(([, stages]) =>
      stages.includes('AWSCURRENT'),
    )?.[0];
    if (currentVersion === undefined)
      throw new RotationError(`secret ${metadata.name} has no AWSCURRENT version`);
    const listed = await this.deps.keys.confirm(metadata, await this.pendingPayload(metadata, token));
    await this.deps.store.moveCurrent(metadata.arn, token, currentVersion);
    // Keys the versions held before the move stay known as ours once unlabelled (e.g. a key a
    // manual PutSecretValue demoted, never adopted: this move takes its AWSPREVIOUS away).
    const before = Object.keys(metadata.versions).filter((version) => metadata.versions[version]?.length);
    return this.retire(await this.deps.store.describe(metadata.arn), listed, before);
  }

  /** One retirement pass; any failure is a RotationRetirementError (Secrets Manager retries). */
  private async retire(
    metadata: RotationMetadata,
    listed?: Listing,
    formerlyLabelled: string[] = [],
  ): Promise<RetirementSummary> {
    try {
      return await this.deps.keys.retire(
        { metadata, labels: await labelsByKey(this.deps.store, metadata, formerlyLabelled) },
        listed,
      );
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
      throw new RotationRetirementError(`retiring the old keys of ${metadata.name} failed (${reason})`, {
        cause: error,
      });
    }
  }

  private async currentPayload(metadata: RotationMetadata): Promise<SecretPayload> {
    const payload = await this.deps.store.read(metadata.arn, 'AWSCURRENT');
    if (payload === undefined) throw new RotationError(`secret ${metadata.name} has no AWSCURRENT value`);
    return payload;
  }

  private async pendingPayload(metadata: RotationMetadata, token: string): Promise<SecretPayload> {
    const payload = await this.deps.store.read(metadata.arn, 'AWSPENDING', token);
    if (payload === undefined)
      throw new RotationError(`AWSPENDING of ${metadata.name} has no value; createSecret must run first`);
    return payload;
  }

  private log(
    event: RotationEvent,
    metadata: RotationMetadata,
    outcome: string,
    started: number,
    retired?: RetirementSummary,
  ): void {
    this.deps.log?.({
      step: event.Step,
      secret: metadata.name,
      token: event.ClientRequestToken,
      outcome,
      ...(retired === undefined ? {} : { retired }),
      latency_ms: Date.now() - started,
    });
  }
}

/**
 * Access key id → the staging labels of every labelled version that holds it; the keys of
 * `formerlyLabelled` versions that have no label now are in the map with none. Shared by every
 * key store, and by createSecret's check of which keys are still in use.
 */
export async function labelsByKey(
  store: RotationStore,
  metadata: RotationMetadata,
  formerlyLabelled: readonly string[] = [],
): Promise<Map<string, Set<string>>> {
  const labels = new Map<string, Set<string>>();
  const versions = new Set([
    ...Object.keys(metadata.versions).filter((version) => metadata.versions[version]?.length),
    ...formerlyLabelled,
  ]);
  for (const version of versions) {
    const payload = await store.readVersion(metadata.arn, version);
    if (payload === undefined) continue; // an empty AWSPENDING: no key yet
    // A labelled version whose key cannot be read would leave that key unprotected: stop.
    const { access_key_id } = staticCredentialsFrom(`${metadata.name} (version ${version})`, payload);
    const held = labels.get(access_key_id) ?? new Set<string>();
    for (const stage of metadata.versions[version] ?? []) held.add(stage);
    labels.set(access_key_id, held);
  }
  return labels;
}
