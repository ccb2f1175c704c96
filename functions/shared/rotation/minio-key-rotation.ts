import { randomBytes, randomInt } from 'node:crypto';
import * as z from 'zod/mini';
import {
  type MinioAdminClient,
  type MinioAdminConnection,
  MinioAdminError,
} from '../minio/minio-admin-client';
import type { SecretResolver } from '../secrets/secret-resolver';
import { staticCredentialsFrom } from '../secrets/secret-shapes';
import { parseRequest } from '../validation';
import { type MinioRotationSecret, minioRotationSecretFrom } from './minio-rotation-secret';
import { RotationError } from './rotation-errors';
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
  /** @default 20 characters of [A-Z0-9] and 40 of base64url (MinIO: 3–20 and 8–40) */
  generateKeyPair?: () => { accessKey: string; secretKey: string };
  /** Only secrets whose name starts with this are rotated (the broker's prefix). @default any */
  secretsPrefix?: string;
  /** Structured log of each step (never a secret value). */
  log?: (entry: Record<string, unknown>) => void;
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function generateKeyPair(): { accessKey: string; secretKey: string } {
  const accessKey = Array.from({ length: 20 }, () => KEY_ALPHABET[randomInt(KEY_ALPHABET.length)]).join('');
  return { accessKey, secretKey: randomBytes(30).toString('base64url') };
}

/** The description that marks an access key as this secret's, so retiring never touches others. */
export function managedKeyDescription(secretName: string): string {
  return `fence-bucket-broker rotation of ${secretName}`.slice(0, 256);
}

/**
 * The MinIO key-rotation function's core: the four steps of a Secrets Manager rotation
 * (DESIGN.md, "Rotation"). Every step first checks the version stages as AWS's rotation
 * template does, so a replayed or retried step is safe; each step is idempotent per token.
 */
export class MinioKeyRotation {
  private readonly generate: () => { accessKey: string; secretKey: string };

  constructor(private readonly deps: MinioKeyRotationDependencies) {
    this.generate = deps.generateKeyPair ?? generateKeyPair;
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
    if (stages === undefined) {
      throw new RotationError(
        `secret ${metadata.name} has no version for rotation token ${event.ClientRequestToken}`,
      );
    }
    if (stages.includes('AWSCURRENT')) {
      this.log(event, metadata, 'already-current', started);
      return;
    }
    if (!stages.includes('AWSPENDING')) {
      throw new RotationError(`version ${event.ClientRequestToken} of ${metadata.name} is not AWSPENDING`);
    }
    switch (event.Step) {
      case 'createSecret':
        await this.createSecret(metadata, event.ClientRequestToken);
        break;
      case 'setSecret':
        await this.setSecret(metadata, event.ClientRequestToken);
        break;
      case 'testSecret':
        await this.testSecret(metadata, event.ClientRequestToken);
        break;
      case 'finishSecret':
        await this.finishSecret(metadata, event.ClientRequestToken);
        break;
    }
    this.log(event, metadata, 'done', started);
  }

  /** A new key pair as AWSPENDING under the token, unless the token already has one. */
  private async createSecret(metadata: RotationMetadata, token: string): Promise<void> {
    const current = await this.currentSecret(metadata);
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

  /** That exact key in MinIO for the parent user; the same key already there for the same parent is success. */
  private async setSecret(metadata: RotationMetadata, token: string): Promise<void> {
    const pending = await this.pendingSecret(metadata, token);
    const admin = await this.adminFor(pending);
    try {
      await admin.addServiceAccount({
        targetUser: pending.minio_parent_user,
        accessKey: pending.access_key_id,
        secretKey: pending.secret_access_key,
        description: managedKeyDescription(metadata.name),
      });
    } catch (error) {
      if (!(error instanceof MinioAdminError)) throw error;
      // Already created by an earlier attempt of this step? Then it must be ours.
      const existing = await admin.infoServiceAccount(pending.access_key_id).catch(() => undefined);
      if (existing?.parentUser !== pending.minio_parent_user) throw error;
    }
  }

  private async testSecret(metadata: RotationMetadata, token: string): Promise<void> {
    await this.deps.probe(await this.pendingSecret(metadata, token));
  }

  /** Moves AWSCURRENT to the token, then retires this secret's keys older than AWSPREVIOUS. */
  private async finishSecret(metadata: RotationMetadata, token: string): Promise<void> {
    const currentVersion = Object.entries(metadata.versions).find(([, stages]) =>
      stages.includes('AWSCURRENT'),
    )?.[0];
    if (currentVersion === undefined)
      throw new RotationError(`secret ${metadata.name} has no AWSCURRENT version`);
    const previous = await this.currentSecret(metadata);
    const next = await this.pendingSecret(metadata, token);
    await this.deps.store.moveCurrent(metadata.arn, token, currentVersion);
    // The key that was current stays valid (caches and URLs already issued); all else of ours goes.
    const keep = new Set([next.access_key_id, previous.access_key_id]);
    const admin = await this.adminFor(next);
    const description = managedKeyDescription(metadata.name);
    for (const account of await admin.listServiceAccounts(next.minio_parent_user)) {
      if (keep.has(account.accessKey)) continue;
      const info =
        account.description === undefined ? await admin.infoServiceAccount(account.accessKey) : account;
      if (info.description === description) await admin.deleteServiceAccount(account.accessKey);
    }
  }

  private async currentSecret(metadata: RotationMetadata): Promise<MinioRotationSecret> {
    const payload = await this.deps.store.read(metadata.arn, 'AWSCURRENT');
    if (payload === undefined) throw new RotationError(`secret ${metadata.name} has no AWSCURRENT value`);
    return minioRotationSecretFrom(metadata.name, payload);
  }

  private async pendingSecret(metadata: RotationMetadata, token: string): Promise<MinioRotationSecret> {
    const payload = await this.deps.store.read(metadata.arn, 'AWSPENDING', token);
    if (payload === undefined)
      throw new RotationError(`AWSPENDING of ${metadata.name} has no value; createSecret must run first`);
    return minioRotationSecretFrom(metadata.name, payload);
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

  private log(event: RotationEvent, metadata: RotationMetadata, outcome: string, started: number): void {
    this.deps.log?.({
      step: event.Step,
      secret: metadata.name,
      token: event.ClientRequestToken,
      outcome,
      latency_ms: Date.now() - started,
    });
  }
}
