import { CredentialsRejectedError } from '../errors';
import type { StoreEndpointPolicy } from '../network/store-endpoint-policy';
import { probeStoreBucket } from '../probes/bucket-access-probe';
import type { SecretPayload } from '../secrets/secret-resolver';
import type { IamAccessKey, IamAccessKeys, IamUser } from './iam-access-keys';
import {
  demotedAt,
  demotedTag,
  type IamRetirementAction,
  type IamRetirementInput,
  iamNeedsGrace,
  inUse,
  planIamRetirement,
} from './iam-key-retirement-plan';
import { type IamRotationSecret, iamRotationSecretFrom } from './iam-rotation-secret';
import type { RetirementGrace } from './retirement-grace';
import { IamUserKeyLimitError, RotationError } from './rotation-errors';
import type { RotationMetadata, RotationStore } from './rotation-store';
import type { SecretBuckets } from './secret-buckets';
import {
  keyHint,
  labelsByKey,
  type RetirementContext,
  type RetirementSummary,
  type RotatedKeyStore,
  SecretRotation,
  type StepTime,
} from './secret-rotation';

/** IAM allows two access keys per user. */
export const IAM_KEYS_PER_USER = 2;
/**
 * The user tag a createSecret writes before CreateAccessKey (`<token> <ISO time>`): a replay of
 * that token knows a key no version holds, created since, as its own lost key, never handed to
 * anyone (its secret died with the step), and deletes it at once.
 */
export const CREATING_TAG = 'fence-bucket-broker:creating';

export interface IamUserKeyRotationDependencies {
  store: RotationStore;
  iam: IamAccessKeys;
  /** Only users under this IAM path are rotated (`ROTATED_IAM_USER_PATH`). */
  userPath: string;
  /** How long a demoted key must stay valid before it may be deactivated or deleted. */
  grace: RetirementGrace;
  /** The registry's buckets on a secret, for secrets without `aws_bucket`. @default none */
  buckets?: SecretBuckets;
  /** Where testSecret's S3 call goes. @default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or S3 in the region */
  s3Endpoint?: (region: string) => URL;
  /** Where the function's own calls to stores may go. @default the process's */
  storeEndpoints?: StoreEndpointPolicy;
  /**
   * How long testSecret waits for IAM to make a new key valid everywhere (eventual consistency),
   * capped by the step's remaining time less `reserveMs`. @default 60 000 ms
   */
  propagationWaitMs?: number;
  /** Kept free of the step's remaining time for the step to fail cleanly. @default 3 000 ms */
  reserveMs?: number;
  /** Only secrets whose name starts with this are rotated (the broker's prefix). @default any */
  secretsPrefix?: string;
  /** @default () => new Date() */
  clock?: () => Date;
  /** @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * The IAM user key rotation function's core: SecretRotation over an IAM user's access keys. The
 * new key is made in createSecret (IAM alone chooses its secret), so setSecret only checks it.
 */
export class IamUserKeyRotation {
  private readonly rotation: SecretRotation<IamAccessKey[]>;

  constructor(deps: IamUserKeyRotationDependencies) {
    this.rotation = new SecretRotation({
      store: deps.store,
      keys: new IamUserAccessKeys(deps),
      ...(deps.secretsPrefix === undefined ? {} : { secretsPrefix: deps.secretsPrefix }),
      ...(deps.log === undefined ? {} : { log: deps.log }),
    });
  }

  /** One step; `time` is the Lambda context's remaining time (testSecret waits within it). */
  run(rawEvent: unknown, time?: StepTime): Promise<void> {
    return this.rotation.run(rawEvent, time);
  }
}

const defaultS3Endpoint = (region: string): URL => {
  // The SDK's own variables, so the same proof runs against AWS, moto or LocalStack.
  const configured = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  if (configured) return new URL(configured);
  return new URL(`https://s3.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`);
};

/** An IAM user's access keys, as the keys a rotation holds. */
class IamUserAccessKeys implements RotatedKeyStore<IamAccessKey[]> {
  private readonly clock: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: IamUserKeyRotationDependencies) {
    this.clock = deps.clock ?? (() => new Date());
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  checkCurrent(metadata: RotationMetadata, current: SecretPayload): void {
    iamRotationSecretFrom(metadata.name, current);
  }

  /**
   * Makes room and creates the key: deletes the user's key that is out of use and past its
   * grace (and a key a killed attempt of this token created), refuses while the user still has
   * two keys, then iam:CreateAccessKey. Every other field of AWSCURRENT is carried over.
   */
  async createPending(
    metadata: RotationMetadata,
    current: SecretPayload,
    token: string,
  ): Promise<SecretPayload> {
    const secret = iamRotationSecretFrom(metadata.name, current);
    const user = await this.userOf(secret);
    let keys = await this.deps.iam.list(user.name);
    const labels = await labelsByKey(this.deps.store, metadata);
    const lost = this.lostKeys(user, keys, labels, token);
    for (const key of lost) {
      await this.deps.iam.delete(user.name, key.accessKeyId);
      this.deps.log?.({ retirement: 'deleted (lost by an earlier attempt)', key: keyHint(key.accessKeyId) });
    }
    keys = keys.filter((key) => !lost.includes(key));
    const input: IamRetirementInput = { keys, labels, tags: user.tags, now: this.clock(), mode: 'make-room' };
    const graceSeconds = iamNeedsGrace(input) ? await this.deps.grace.seconds(metadata) : 0;
    const actions = planIamRetirement(input, graceSeconds);
    for (const action of actions) await this.apply(user.name, action);
    const left = keys.filter(
      (key) => !actions.some((action) => action.kind === 'delete' && action.accessKeyId === key.accessKeyId),
    );
    if (left.length >= IAM_KEYS_PER_USER) {
      const stamps = new Map(user.tags);
      for (const action of actions)
        if (action.kind === 'stamp')
          stamps.set(demotedTag(action.accessKeyId), action.demotedAt.toISOString());
      throw new IamUserKeyLimitError(
        user.name,
        left.map((key) => keyHint(key.accessKeyId)),
        left
          .map((key) => `${keyHint(key.accessKeyId)} ${this.whyKept(key, labels, stamps, graceSeconds)}`)
          .join(', '),
      );
    }
    await this.deps.iam.tag(user.name, new Map([[CREATING_TAG, `${token} ${this.clock().toISOString()}`]]));
    const created = await this.deps.iam.create(user.name);
    this.deps.log?.({ created: keyHint(created.accessKeyId), user: user.name });
    return { ...current, access_key_id: created.accessKeyId, secret_access_key: created.secretAccessKey };
  }

  /** The key lost a replay's race: no version holds it and no one else knows its secret. */
  async pendingStored(
    metadata: RotationMetadata,
    payload: SecretPayload,
    _token: string,
    stored: boolean,
  ): Promise<void> {
    const secret = iamRotationSecretFrom(metadata.name, payload);
    if (stored) {
      await this.deps.iam.untag(secret.iam_user_name, [CREATING_TAG]);
      return;
    }
    await this.deps.iam.delete(secret.iam_user_name, secret.access_key_id);
  }

  /** IAM made the key in createSecret; setSecret checks that it is still the user's. */
  async install(metadata: RotationMetadata, payload: SecretPayload): Promise<void> {
    await this.confirm(metadata, payload);
  }

  /**
   * A signed S3 call (HEAD of the bucket) with the key. A new IAM key takes a while to be valid
   * everywhere, so a refusal is retried with backoff for as long as the step may still run.
   */
  async prove(metadata: RotationMetadata, payload: SecretPayload, time: StepTime | undefined): Promise<void> {
    const secret = iamRotationSecretFrom(metadata.name, payload);
    const target = await this.bucketOf(metadata, secret);
    const region = secret.region ?? target.region ?? 'us-east-1';
    const endpoint = (this.deps.s3Endpoint ?? defaultS3Endpoint)(region);
    const budget = Math.min(
      this.deps.propagationWaitMs ?? 60_000,
      time === undefined ? Number.POSITIVE_INFINITY : time.remainingMs() - (this.deps.reserveMs ?? 3_000),
    );
    const giveUpAt = Date.now() + budget;
    for (let attempt = 0, delay = 250; ; attempt++, delay = Math.min(delay * 2, 8_000)) {
      try {
        await probeStoreBucket(
          {
            endpoint,
            bucket: target.bucket,
            region,
            pathStyle: endpoint.hostname.match(/^[\d.]+$|^localhost$/) !== null,
          },
          { accessKeyId: secret.access_key_id, secretAccessKey: secret.secret_access_key },
          {
            timeoutMs: 10_000,
            ...(this.deps.storeEndpoints === undefined ? {} : { policy: this.deps.storeEndpoints }),
          },
        );
        if (attempt > 0) this.deps.log?.({ proven: keyHint(secret.access_key_id), attempts: attempt + 1 });
        return;
      } catch (error) {
        if (!(error instanceof CredentialsRejectedError) || Date.now() + delay >= giveUpAt) throw error;
        await this.sleep(delay);
      }
    }
  }

  async confirm(metadata: RotationMetadata, payload: SecretPayload): Promise<IamAccessKey[]> {
    const next = iamRotationSecretFrom(metadata.name, payload);
    const user = await this.userOf(next);
    const keys = await this.deps.iam.list(user.name);
    if (!keys.some((key) => key.accessKeyId === next.access_key_id)) {
      throw new RotationError(
        `the pending key ${keyHint(next.access_key_id)} of ${metadata.name} does not exist in IAM for ${user.name}; not promoting it`,
      );
    }
    return keys;
  }

  /** One retirement pass (stamp, deactivate at the end of grace, then delete: iam-key-retirement-plan.ts). */
  async retire(context: RetirementContext, listed?: IamAccessKey[]): Promise<RetirementSummary> {
    const { metadata } = context;
    const payload = await this.deps.store.read(metadata.arn, 'AWSCURRENT');
    if (payload === undefined) throw new RotationError(`secret ${metadata.name} has no AWSCURRENT value`);
    const user = await this.userOf(iamRotationSecretFrom(metadata.name, payload));
    const keys = listed ?? (await this.deps.iam.list(user.name));
    const input: IamRetirementInput = {
      keys,
      labels: context.labels,
      tags: user.tags,
      now: this.clock(),
      mode: 'finish',
    };
    const graceSeconds = iamNeedsGrace(input) ? await this.deps.grace.seconds(metadata) : undefined;
    const actions = planIamRetirement(input, graceSeconds ?? 0);
    for (const action of actions) await this.apply(user.name, action);
    return {
      managed: keys.length,
      deleted: actions.filter((action) => action.kind === 'delete').length,
      updated: actions.filter((action) => action.kind !== 'delete').length,
      ...(graceSeconds === undefined ? {} : { graceSeconds }),
    };
  }

  private async apply(userName: string, action: IamRetirementAction): Promise<void> {
    const key = action.accessKeyId;
    switch (action.kind) {
      case 'stamp':
        await this.deps.iam.tag(userName, new Map([[demotedTag(key), action.demotedAt.toISOString()]]));
        break;
      case 'unstamp':
        await this.deps.iam.untag(userName, [demotedTag(key)]);
        break;
      case 'activate':
        await this.deps.iam.setStatus(userName, key, 'Active');
        break;
      case 'deactivate':
        await this.deps.iam.setStatus(userName, key, 'Inactive');
        break;
      case 'delete':
        // Deactivated first, so a delete cut short leaves a key that no longer signs.
        await this.deps.iam.setStatus(userName, key, 'Inactive').catch(() => undefined);
        await this.deps.iam.delete(userName, key);
        await this.deps.iam.untag(userName, [demotedTag(key)]);
        break;
    }
    this.deps.log?.({ retirement: action.kind, key: keyHint(key) });
  }

  /** iam:GetUser; a user outside the configured path is refused before any of its keys is touched. */
  private async userOf(secret: IamRotationSecret): Promise<IamUser> {
    const user = await this.deps.iam.user(secret.iam_user_name);
    if (!user.path.startsWith(this.deps.userPath)) {
      throw new RotationError(
        `IAM user ${user.name} is at path ${user.path}, outside ${this.deps.userPath}; not rotating its keys`,
      );
    }
    return user;
  }

  /** Keys this token's killed createSecret made: unlabelled, unstamped, created since its mark. */
  private lostKeys(
    user: IamUser,
    keys: readonly IamAccessKey[],
    labels: ReadonlyMap<string, ReadonlySet<string>>,
    token: string,
  ): IamAccessKey[] {
    const [markedToken, markedAt] = (user.tags.get(CREATING_TAG) ?? '').split(' ');
    const since = Date.parse(markedAt ?? '');
    if (markedToken !== token || !Number.isFinite(since)) return [];
    // IAM reports creation times in whole seconds.
    const floor = Math.floor(since / 1000) * 1000;
    return keys.filter(
      (key) =>
        !labels.has(key.accessKeyId) &&
        !user.tags.has(demotedTag(key.accessKeyId)) &&
        key.createdAt.getTime() >= floor,
    );
  }

  private whyKept(
    key: IamAccessKey,
    labels: ReadonlyMap<string, ReadonlySet<string>>,
    stamps: ReadonlyMap<string, string>,
    graceSeconds: number,
  ): string {
    const held = labels.get(key.accessKeyId);
    if (inUse(held)) return `is in use (${[...(held ?? [])].join(', ')})`;
    const since = demotedAt(stamps, key.accessKeyId) ?? this.clock();
    return `is within its grace until ${new Date(since.getTime() + graceSeconds * 1000).toISOString()}`;
  }

  private async bucketOf(
    metadata: RotationMetadata,
    secret: IamRotationSecret,
  ): Promise<{ bucket: string; region?: string }> {
    if (secret.aws_bucket !== undefined) return { bucket: secret.aws_bucket };
    const [first] = (await this.deps.buckets?.bucketsFor(metadata)) ?? [];
    if (first === undefined)
      throw new RotationError(
        `secret ${metadata.name} names no aws_bucket and no registered bucket uses it: nowhere to prove a new key`,
      );
    return first;
  }
}
