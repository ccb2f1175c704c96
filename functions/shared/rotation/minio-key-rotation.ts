import { randomBytes, randomInt } from 'node:crypto';
import * as z from 'zod/mini';
import {
  type MinioAdminClient,
  type MinioAdminConnection,
  MinioAdminError,
  type MinioPolicyDocument,
  NO_EXPIRATION,
  type ServiceAccountInfo,
} from '../minio/minio-admin-client';
import type { SecretPayload, SecretResolver } from '../secrets/secret-resolver';
import { staticCredentialsFrom } from '../secrets/secret-shapes';
import { parseRequest } from '../validation';
import { bucketKeyPolicy } from './bucket-key-policy';
import { managedKeys, needsGrace, planRetirement, type RetirementAction } from './key-retirement-plan';
import { secretArnHash, writeManagedKeyTag } from './managed-key-tag';
import {
  type MinioRotationSecret,
  type MinioRotationSecretOptions,
  minioRotationSecretFrom,
} from './minio-rotation-secret';
import type { RetirementGrace } from './retirement-grace';
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

/** Proves a key pair on the bucket (list or head); throws if the store refuses it. */
export type BucketProbe = (secret: MinioRotationSecret) => Promise<void>;

export interface MinioKeyRotationDependencies {
  store: RotationStore;
  /** Reads the MinIO admin credential named in the secret (AWS Secrets Manager, uncached). */
  adminSecrets: SecretResolver;
  adminClient: (connection: MinioAdminConnection) => MinioAdminClient;
  probe: BucketProbe;
  /** How long a demoted key must stay valid before finishSecret may delete it. */
  grace: RetirementGrace;
  /** Accept `http` MinIO endpoints (tests, development). @default false */
  allowInsecureHttp?: boolean;
  /** @default 20 characters of [A-Z0-9] and 40 of base64url (MinIO: 3–20 and 8–40) */
  generateKeyPair?: () => { accessKey: string; secretKey: string };
  /** Only secrets whose name starts with this are rotated (the broker's prefix). @default any */
  secretsPrefix?: string;
  /** @default () => new Date() */
  clock?: () => Date;
  /** Structured log of each step (never a secret value; access keys by their last 4 characters). */
  log?: (entry: Record<string, unknown>) => void;
}

/** What one retirement pass did, for the step's log line. */
export interface RetirementSummary {
  managed: number;
  deleted: number;
  updated: number;
  graceSeconds?: number;
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function generateKeyPair(): { accessKey: string; secretKey: string } {
  const accessKey = Array.from({ length: 20 }, () => KEY_ALPHABET[randomInt(KEY_ALPHABET.length)]).join('');
  return { accessKey, secretKey: randomBytes(30).toString('base64url') };
}

/** DESIGN.md: log at most the last 4 characters of an access key id. */
const keyHint = (accessKey: string) => `…${accessKey.slice(-4)}`;

/**
 * The MinIO key-rotation function's core: the four steps of a Secrets Manager rotation
 * (DESIGN.md, "Rotation"). Every step first checks the version stages as AWS's rotation
 * template does, so a replayed or retried step is safe; each step is idempotent per token.
 * finishSecret retires this secret's keys by the grace rule (key-retirement-plan.ts), and does
 * so again when replayed, so a retirement cut short is finished by Secrets Manager's retry.
 */
export class MinioKeyRotation {
  private readonly generate: () => { accessKey: string; secretKey: string };
  private readonly clock: () => Date;
  private readonly secretOptions: MinioRotationSecretOptions;

  constructor(private readonly deps: MinioKeyRotationDependencies) {
    this.generate = deps.generateKeyPair ?? generateKeyPair;
    this.clock = deps.clock ?? (() => new Date());
    this.secretOptions = { allowInsecureHttp: deps.allowInsecureHttp === true };
  }

  async run(rawEvent: unknown): Promise<void> {
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
      await this.testSecret(metadata, event.ClientRequestToken, stages);
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
        await this.setSecret(metadata, event.ClientRequestToken);
        break;
      case 'finishSecret':
        retired = await this.finishSecret(metadata, event.ClientRequestToken);
        break;
    }
    this.log(event, metadata, 'done', started, retired);
  }

  /**
   * A new key pair as AWSPENDING under the token, unless the token already has one. Every other
   * field of AWSCURRENT is carried over as it is (`client_cert_pem`, fields this code does not
   * know): only the two key fields change.
   */
  private async createSecret(metadata: RotationMetadata, token: string): Promise<void> {
    const current = await this.deps.store.read(metadata.arn, 'AWSCURRENT');
    if (current === undefined) throw new RotationError(`secret ${metadata.name} has no AWSCURRENT value`);
    minioRotationSecretFrom(metadata.name, current, this.secretOptions);
    if ((await this.deps.store.read(metadata.arn, 'AWSPENDING', token)) !== undefined) return;
    const { accessKey, secretKey } = this.generate();
    const stored = await this.deps.store.putPending(metadata.arn, token, {
      ...current,
      access_key_id: accessKey,
      secret_access_key: secretKey,
    });
    // A replay raced us and stored another pair under the same token: that one stands.
    if (!stored && (await this.deps.store.read(metadata.arn, 'AWSPENDING', token)) === undefined) {
      throw new RotationError(`AWSPENDING of ${metadata.name} could neither be stored nor read`);
    }
  }

  /**
   * That exact key in MinIO for the parent user, tagged as this secret's and limited to its
   * bucket; the same key already there for the same parent is success.
   */
  private async setSecret(metadata: RotationMetadata, token: string): Promise<void> {
    const pending = await this.pendingSecret(metadata, token);
    const admin = await this.adminFor(pending);
    try {
      await admin.addServiceAccount({
        targetUser: pending.minio_parent_user,
        accessKey: pending.access_key_id,
        secretKey: pending.secret_access_key,
        description: writeManagedKeyTag({ arnHash: secretArnHash(metadata.arn), secretName: metadata.name }),
        policy: bucketKeyPolicy(pending.minio_bucket),
      });
    } catch (error) {
      if (!(error instanceof MinioAdminError)) throw error;
      // Already created by an earlier attempt of this step? Then it must be ours.
      const existing = await admin.infoServiceAccount(pending.access_key_id).catch(() => undefined);
      if (existing?.parentUser !== pending.minio_parent_user) throw error;
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
  ): Promise<void> {
    const pending = stages?.includes('AWSPENDING')
      ? await this.deps.store.read(metadata.arn, 'AWSPENDING', token)
      : undefined;
    await this.deps.probe(
      pending === undefined
        ? await this.currentSecret(metadata)
        : minioRotationSecretFrom(metadata.name, pending, this.secretOptions),
    );
  }

  /**
   * Checks that the pending key exists in MinIO for the parent user, moves AWSCURRENT to the
   * token (AWSPREVIOUS follows), then retires this secret's keys by the grace rule.
   */
  private async finishSecret(metadata: RotationMetadata, token: string): Promise<RetirementSummary> {
    const currentVersion = Object.entries(metadata.versions).find(([, stages]) =>
      stages.includes('AWSCURRENT'),
    )?.[0];
    if (currentVersion === undefined)
      throw new RotationError(`secret ${metadata.name} has no AWSCURRENT version`);
    const next = await this.pendingSecret(metadata, token);
    const admin = await this.adminFor(next);
    // The parent's listing proves the key exists for that parent, and retirement needs it anyway.
    const keys = await admin.listServiceAccounts(next.minio_parent_user);
    if (!keys.some((key) => key.accessKey === next.access_key_id)) {
      throw new RotationError(
        `the pending key ${keyHint(next.access_key_id)} of ${metadata.name} does not exist in MinIO for ${next.minio_parent_user}; not promoting it`,
      );
    }
    await this.deps.store.moveCurrent(metadata.arn, token, currentVersion);
    // Keys the versions held before the move stay known as ours once unlabelled (e.g. a key a
    // manual PutSecretValue demoted, never adopted: this move takes its AWSPREVIOUS away).
    const before = Object.keys(metadata.versions).filter((version) => metadata.versions[version]?.length);
    return this.retire(await this.deps.store.describe(metadata.arn), keys, before);
  }

  /**
   * One retirement pass (stamp, adopt, expire, delete: key-retirement-plan.ts). Any failure is a
   * RotationRetirementError: the step fails and Secrets Manager retries it.
   */
  private async retire(
    metadata: RotationMetadata,
    listed?: ServiceAccountInfo[],
    formerlyLabelled: string[] = [],
  ): Promise<RetirementSummary> {
    try {
      const current = await this.currentSecret(metadata);
      const admin = await this.adminFor(current);
      const keys = listed ?? (await admin.listServiceAccounts(current.minio_parent_user));
      const input = {
        secret: { arnHash: secretArnHash(metadata.arn), name: metadata.name },
        parentUser: current.minio_parent_user,
        keys,
        labels: await this.labelsByKey(metadata, formerlyLabelled),
        now: this.clock(),
      };
      const managed = managedKeys(input);
      const graceSeconds = needsGrace(managed) ? await this.deps.grace.seconds(metadata) : undefined;
      const actions = planRetirement(input, managed, graceSeconds ?? 0);
      for (const action of actions) await this.apply(admin, action, keys);
      return {
        managed: managed.length,
        deleted: actions.filter((action) => action.kind === 'delete').length,
        updated: actions.filter((action) => action.kind === 'update').length,
        ...(graceSeconds === undefined ? {} : { graceSeconds }),
      };
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
      throw new RotationRetirementError(`retiring the old keys of ${metadata.name} failed (${reason})`, {
        cause: error,
      });
    }
  }

  /**
   * Access key id → the staging labels of every labelled version that holds it; the keys of
   * `formerlyLabelled` versions that have no label now are in the map with none.
   */
  private async labelsByKey(
    metadata: RotationMetadata,
    formerlyLabelled: readonly string[],
  ): Promise<Map<string, Set<string>>> {
    const labels = new Map<string, Set<string>>();
    const versions = new Set([
      ...Object.keys(metadata.versions).filter((version) => metadata.versions[version]?.length),
      ...formerlyLabelled,
    ]);
    for (const version of versions) {
      const payload = await this.deps.store.readVersion(metadata.arn, version);
      if (payload === undefined) continue; // an empty AWSPENDING: no key yet
      // A labelled version whose key cannot be read would leave that key unprotected: stop.
      const { access_key_id } = staticCredentialsFrom(`${metadata.name} (version ${version})`, payload);
      const held = labels.get(access_key_id) ?? new Set<string>();
      for (const stage of metadata.versions[version] ?? []) held.add(stage);
      labels.set(access_key_id, held);
    }
    return labels;
  }

  private async apply(
    admin: MinioAdminClient,
    action: RetirementAction,
    keys: readonly ServiceAccountInfo[],
  ): Promise<void> {
    if (action.kind === 'delete') {
      // "Not found" is not taken as done: MinIO also answers it to a caller that lacks
      // admin:RemoveServiceAccount. The key was listed a moment ago; a retry sees it gone if it is.
      await admin.deleteServiceAccount(action.accessKey);
      this.deps.log?.({ retirement: 'deleted', key: keyHint(action.accessKey), demoted: action.demotedAt });
      return;
    }
    const listed = keys.find((key) => key.accessKey === action.accessKey);
    await admin.updateServiceAccount(action.accessKey, {
      policy: await this.inlinePolicy(admin, listed),
      description: action.description,
      ...(action.expiration === undefined
        ? {}
        : { expiration: action.expiration === 'none' ? NO_EXPIRATION : action.expiration.toISOString() }),
    });
    this.deps.log?.({ retirement: action.reason, key: keyHint(action.accessKey) });
  }

  /** The key's inline policy, to send again with an update (MinIO drops it otherwise). */
  private async inlinePolicy(
    admin: MinioAdminClient,
    listed: ServiceAccountInfo | undefined,
  ): Promise<MinioPolicyDocument | null> {
    if (listed?.impliedPolicy === true) return null;
    const info = await admin.infoServiceAccount(listed?.accessKey ?? '');
    if (info.impliedPolicy !== false || info.policy === undefined) return null;
    return JSON.parse(info.policy) as MinioPolicyDocument;
  }

  private async currentSecret(metadata: RotationMetadata): Promise<MinioRotationSecret> {
    const payload = await this.deps.store.read(metadata.arn, 'AWSCURRENT');
    if (payload === undefined) throw new RotationError(`secret ${metadata.name} has no AWSCURRENT value`);
    return minioRotationSecretFrom(metadata.name, payload, this.secretOptions);
  }

  private async pendingSecret(metadata: RotationMetadata, token: string): Promise<MinioRotationSecret> {
    const payload: SecretPayload | undefined = await this.deps.store.read(metadata.arn, 'AWSPENDING', token);
    if (payload === undefined)
      throw new RotationError(`AWSPENDING of ${metadata.name} has no value; createSecret must run first`);
    return minioRotationSecretFrom(metadata.name, payload, this.secretOptions);
  }

  private async adminFor(secret: MinioRotationSecret): Promise<MinioAdminClient> {
    const admin = staticCredentialsFrom(
      secret.minio_admin_secret_ref,
      await this.deps.adminSecrets.get(secret.minio_admin_secret_ref),
    );
    return this.deps.adminClient({
      endpoint: secret.minio_endpoint,
      accessKey: admin.access_key_id,
      secretKey: admin.secret_access_key,
      ...(secret.ca_bundle_pem === undefined ? {} : { caPem: secret.ca_bundle_pem }),
    });
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
