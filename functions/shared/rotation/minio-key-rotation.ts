import { randomBytes, randomInt } from 'node:crypto';
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
import { bucketKeyPolicy } from './bucket-key-policy';
import { managedKeys, needsGrace, planRetirement, type RetirementAction } from './key-retirement-plan';
import { secretArnHash, writeManagedKeyTag } from './managed-key-tag';
import {
  type MinioRotationSecret,
  type MinioRotationSecretOptions,
  minioRotationSecretFrom,
} from './minio-rotation-secret';
import type { RetirementGrace } from './retirement-grace';
import { RotationError } from './rotation-errors';
import type { RotationMetadata, RotationStore } from './rotation-store';
import {
  keyHint,
  type RetirementContext,
  type RetirementSummary,
  type RotatedKeyStore,
  SecretRotation,
} from './secret-rotation';

// The core's event and steps, under the names the MinIO rotation has always exported them by.
export {
  type RetirementSummary,
  ROTATION_STEPS,
  type RotationEvent,
  RotationEventSchema,
  type RotationStep,
} from './secret-rotation';

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

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function generateKeyPair(): { accessKey: string; secretKey: string } {
  const accessKey = Array.from({ length: 20 }, () => KEY_ALPHABET[randomInt(KEY_ALPHABET.length)]).join('');
  return { accessKey, secretKey: randomBytes(30).toString('base64url') };
}

/**
 * The MinIO key-rotation function's core: the four steps of SecretRotation over MinIO service
 * accounts. finishSecret retires this secret's keys by the grace rule (key-retirement-plan.ts).
 */
export class MinioKeyRotation {
  private readonly rotation: SecretRotation<ServiceAccountInfo[]>;

  constructor(deps: MinioKeyRotationDependencies) {
    this.rotation = new SecretRotation({
      store: deps.store,
      keys: new MinioServiceAccounts(deps),
      ...(deps.secretsPrefix === undefined ? {} : { secretsPrefix: deps.secretsPrefix }),
      ...(deps.log === undefined ? {} : { log: deps.log }),
    });
  }

  run(rawEvent: unknown): Promise<void> {
    return this.rotation.run(rawEvent);
  }
}

/** MinIO's service accounts of the secret's parent user, as the keys a rotation holds. */
class MinioServiceAccounts implements RotatedKeyStore<ServiceAccountInfo[]> {
  private readonly generate: () => { accessKey: string; secretKey: string };
  private readonly clock: () => Date;
  private readonly secretOptions: MinioRotationSecretOptions;

  constructor(private readonly deps: MinioKeyRotationDependencies) {
    this.generate = deps.generateKeyPair ?? generateKeyPair;
    this.clock = deps.clock ?? (() => new Date());
    this.secretOptions = { allowInsecureHttp: deps.allowInsecureHttp === true };
  }

  checkCurrent(metadata: RotationMetadata, current: SecretPayload): void {
    minioRotationSecretFrom(metadata.name, current, this.secretOptions);
  }

  /**
   * A new key pair; every other field of AWSCURRENT is carried over as it is (`client_cert_pem`,
   * fields this code does not know): only the two key fields change. MinIO learns of it in setSecret.
   */
  async createPending(_metadata: RotationMetadata, current: SecretPayload): Promise<SecretPayload> {
    const { accessKey, secretKey } = this.generate();
    return { ...current, access_key_id: accessKey, secret_access_key: secretKey };
  }

  /**
   * That exact key in MinIO for the parent user, tagged as this secret's and limited to its
   * bucket; the same key already there for the same parent is success.
   */
  async install(metadata: RotationMetadata, payload: SecretPayload): Promise<void> {
    const pending = this.read(metadata, payload);
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

  prove(metadata: RotationMetadata, payload: SecretPayload): Promise<void> {
    return this.deps.probe(this.read(metadata, payload));
  }

  /** The parent's listing proves the key exists for that parent, and retirement needs it anyway. */
  async confirm(metadata: RotationMetadata, payload: SecretPayload): Promise<ServiceAccountInfo[]> {
    const next = this.read(metadata, payload);
    const admin = await this.adminFor(next);
    const keys = await admin.listServiceAccounts(next.minio_parent_user);
    if (!keys.some((key) => key.accessKey === next.access_key_id)) {
      throw new RotationError(
        `the pending key ${keyHint(next.access_key_id)} of ${metadata.name} does not exist in MinIO for ${next.minio_parent_user}; not promoting it`,
      );
    }
    return keys;
  }

  /** One retirement pass (stamp, adopt, expire, delete: key-retirement-plan.ts). */
  async retire(context: RetirementContext, listed?: ServiceAccountInfo[]): Promise<RetirementSummary> {
    const { metadata } = context;
    const current = await this.currentSecret(metadata);
    const admin = await this.adminFor(current);
    const keys = listed ?? (await admin.listServiceAccounts(current.minio_parent_user));
    const input = {
      secret: { arnHash: secretArnHash(metadata.arn), name: metadata.name },
      parentUser: current.minio_parent_user,
      keys,
      labels: context.labels,
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
  }

  private read(metadata: RotationMetadata, payload: SecretPayload): MinioRotationSecret {
    return minioRotationSecretFrom(metadata.name, payload, this.secretOptions);
  }

  private async currentSecret(metadata: RotationMetadata): Promise<MinioRotationSecret> {
    const payload = await this.deps.store.read(metadata.arn, 'AWSCURRENT');
    if (payload === undefined) throw new RotationError(`secret ${metadata.name} has no AWSCURRENT value`);
    return this.read(metadata, payload);
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
}
