import {
  BrokerError,
  InvalidRequestError,
  RotationNotConfiguredError,
  SecretBackendUnavailableError,
  SecretExistsError,
  ThrottledError,
} from '../../errors';
import { ExchangeTimeoutError } from '../../http/http-exchange';
import type {
  SecretAdministration,
  SecretCreation,
  SecretDescription,
  SecretRotationRules,
  SecretVersionSummary,
} from '../../secrets/secret-administration';
import { GCP_SECRET_REF } from '../../secrets/secret-ref-formats';
import type { SecretPayload } from '../../secrets/secret-resolver';
import { gcpAnnotations, gcpLabels, nameOfSecretId, secretIdForName } from './gcp-secret-names';
import type { GoogleAccessTokens } from './google-credentials';
import { callGoogleAuthorized, GoogleApiError, GoogleCredentialsError } from './google-http';

export interface GcpSecretManagerAdministrationOptions {
  /** `https://secretmanager.googleapis.com`, without a trailing slash. */
  endpoint: string;
  /** The broker's Google identity; the `gcp_sm` resolver's, so both share one token. */
  tokens: GoogleAccessTokens;
  /** Project where admin flows create secrets; without it, creating is refused. */
  project?: string;
  /** The most one admin operation may take, retries included. @default 10000 */
  budgetMs?: number;
}

/** A secret version as Secret Manager lists it. */
interface GoogleSecretVersion {
  name?: string;
  state?: string;
}

/**
 * GCP Secret Manager, admin side, over the same v1 REST calls and tokens as the resolver. A
 * secret's `name` is read from its id (`gcp-secret-names.ts`: `gen3--fence--gcp--b` is
 * `gen3/fence/gcp/b`), so the prefix rules apply to what IAM conditions see.
 *
 * - `describe` lists the ENABLED versions; the newest version, when enabled, carries the stage
 *   `latest` (what an unpinned read gets). A secret without an enabled version reads as missing:
 *   nothing in it can serve a bucket, and it is how `remove` leaves a secret.
 * - `rotationEnabled` is the secret's `rotation` schedule. Secret Manager's rotation only
 *   publishes Pub/Sub notifications; nothing in the broker answers them, so `rotate` is refused.
 * - `remove` cannot schedule a deletion with a recovery window as AWS does: it disables every
 *   version (reads stop at once) and sets the secret's `ttl` to the window, so Secret Manager
 *   deletes it at `expireTime`. Until then an operator recovers it by enabling a version and
 *   clearing the expiry (`gcloud secrets update S --remove-expiration`).
 */
export class GcpSecretManagerAdministration implements SecretAdministration {
  readonly backend = 'gcp_sm' as const;
  private readonly budgetMs: number;

  constructor(private readonly options: GcpSecretManagerAdministrationOptions) {
    this.budgetMs = options.budgetMs ?? 10_000;
  }

  /** The ref a secret created as `name` gets (for checking a registration before creating it). */
  refFor(name: string): string {
    if (this.options.project === undefined) {
      throw new InvalidRequestError(
        'this deployment has no GCP_SECRET_MANAGER_PROJECT, so it cannot create gcp_sm secrets; create the secret and register the bucket with secret_ref',
        'create_secret',
      );
    }
    return `projects/${this.options.project}/secrets/${secretIdForName(name)}`;
  }

  async describe(ref: string): Promise<SecretDescription | undefined> {
    checkRef(ref);
    const until = Date.now() + this.budgetMs;
    try {
      // biome-ignore lint/suspicious/noExplicitAny: Secret Manager's Secret resource; fields are checked as read.
      let secret: any;
      try {
        secret = await this.call('GET', ref, undefined, until);
      } catch (error) {
        if (error instanceof GoogleApiError && error.status === 'NOT_FOUND') return undefined;
        throw error;
      }
      const all = await this.versions(ref, until);
      const newest = Math.max(0, ...all.map((version) => versionNumber(version)));
      const versions: SecretVersionSummary[] = all
        .filter((version) => version.state === 'ENABLED')
        .map((version) => versionNumber(version))
        .sort((a, b) => b - a)
        .map((number) => ({ id: String(number), stages: number === newest ? ['latest'] : [] }));
      if (versions.length === 0) return undefined;
      const rotationRules = rotationRulesOf(secret?.rotation);
      const kmsKeyId = secret?.replication?.automatic?.customerManagedEncryption?.kmsKeyName;
      const createdAt = typeof secret?.createTime === 'string' ? new Date(secret.createTime) : undefined;
      return {
        ref,
        name: nameOfSecretId(ref.slice(ref.lastIndexOf('/') + 1)),
        rotationEnabled: rotationRules !== undefined,
        ...(rotationRules === undefined ? {} : { rotationRules }),
        ...(typeof kmsKeyId === 'string' ? { kmsKeyId } : {}),
        ...(createdAt === undefined || Number.isNaN(createdAt.getTime()) ? {} : { createdAt }),
        versions,
      };
    } catch (error) {
      throw translate(error, ref);
    }
  }

  /** Creates the secret (automatic replication, labelled) and adds `payload` as its version 1. */
  async create(name: string, payload: SecretPayload, options: SecretCreation): Promise<SecretDescription> {
    const ref = this.refFor(name);
    const slash = ref.lastIndexOf('/');
    const until = Date.now() + this.budgetMs;
    const tags = {
      ...options.tags,
      ...(options.description === undefined ? {} : { description: options.description }),
    };
    // biome-ignore lint/suspicious/noExplicitAny: the created Secret resource.
    let created: any;
    try {
      created = await this.call(
        'POST',
        `${ref.slice(0, slash)}?secretId=${encodeURIComponent(ref.slice(slash + 1))}`,
        {
          replication: {
            automatic:
              options.kmsKeyId === undefined
                ? {}
                : { customerManagedEncryption: { kmsKeyName: options.kmsKeyId } },
          },
          labels: gcpLabels(options.tags),
          annotations: gcpAnnotations(tags),
        },
        until,
      );
    } catch (error) {
      if (error instanceof GoogleApiError && error.status === 'ALREADY_EXISTS') {
        throw new SecretExistsError(name, { cause: error });
      }
      throw translate(error, ref);
    }
    let version: string;
    try {
      const added = await this.call(
        'POST',
        `${ref}:addVersion`,
        { payload: { data: Buffer.from(JSON.stringify(payload), 'utf8').toString('base64') } },
        until,
      );
      version = versionNumber(added).toString();
    } catch (error) {
      // An empty secret would block the name; schedule it for deletion like a failed registration's.
      await this.remove(ref, 1).catch(() => undefined);
      throw translate(error, ref);
    }
    const createdAt = typeof created?.createTime === 'string' ? new Date(created.createTime) : undefined;
    return {
      ref,
      name,
      rotationEnabled: false,
      ...(options.kmsKeyId === undefined ? {} : { kmsKeyId: options.kmsKeyId }),
      ...(createdAt === undefined || Number.isNaN(createdAt.getTime()) ? {} : { createdAt }),
      versions: [{ id: version, stages: ['latest'] }],
    };
  }

  /**
   * Disables every enabled version and sets the secret to expire after `recoveryWindowDays`:
   * Secret Manager has no recoverable delete, and an expiry is the nearest thing (see the class).
   */
  async remove(ref: string, recoveryWindowDays: number): Promise<void> {
    checkRef(ref);
    const until = Date.now() + this.budgetMs;
    try {
      let versions: GoogleSecretVersion[];
      try {
        versions = await this.versions(ref, until);
      } catch (error) {
        if (error instanceof GoogleApiError && error.status === 'NOT_FOUND') return;
        throw error;
      }
      for (const version of versions) {
        if (version.state === 'ENABLED') {
          await this.call('POST', `${ref}/versions/${versionNumber(version)}:disable`, {}, until);
        }
      }
      await this.call(
        'PATCH',
        `${ref}?updateMask=ttl`,
        { ttl: `${Math.max(1, recoveryWindowDays) * 86_400}s` },
        until,
      );
    } catch (error) {
      throw translate(error, ref);
    }
  }

  async rotate(ref: string): Promise<string> {
    throw new RotationNotConfiguredError(
      `secret ${ref} is in GCP Secret Manager, whose rotation only publishes notifications and has no rotation function; add a new version instead`,
    );
  }

  /** Every version of the secret, following pages (newest first, as Secret Manager lists them). */
  private async versions(ref: string, until: number): Promise<GoogleSecretVersion[]> {
    const versions: GoogleSecretVersion[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.call(
        'GET',
        `${ref}/versions?pageSize=250${pageToken === undefined ? '' : `&pageToken=${encodeURIComponent(pageToken)}`}`,
        undefined,
        until,
      );
      if (Array.isArray(page?.versions)) versions.push(...page.versions);
      pageToken =
        typeof page?.nextPageToken === 'string' && page.nextPageToken !== '' ? page.nextPageToken : undefined;
    } while (pageToken !== undefined);
    return versions;
  }

  // biome-ignore lint/suspicious/noExplicitAny: Secret Manager's JSON answers; callers check what they read.
  private call(method: 'GET' | 'POST' | 'PATCH', path: string, body: unknown, until: number): Promise<any> {
    return callGoogleAuthorized(this.options.tokens, {
      method,
      url: `${this.options.endpoint}/v1/${path}`,
      body,
      until,
      attemptTimeoutMs: 3000,
    });
  }
}

function checkRef(ref: string): void {
  if (!GCP_SECRET_REF.test(ref)) {
    throw new InvalidRequestError(
      `secret ref ${ref} is not projects/<project>/secrets/<secret>`,
      'secret_ref',
    );
  }
}

/** The number ending a version's resource name (`…/versions/3`); 0 when there is none. */
function versionNumber(version: { name?: unknown } | undefined): number {
  const number = Number(
    String(version?.name ?? '')
      .split('/')
      .pop(),
  );
  return Number.isInteger(number) && number > 0 ? number : 0;
}

/** Secret Manager's `rotation` (`rotationPeriod: "2592000s"`) as rotation rules; undefined without one. */
function rotationRulesOf(rotation: unknown): SecretRotationRules | undefined {
  if (typeof rotation !== 'object' || rotation === null) return undefined;
  const { rotationPeriod, nextRotationTime } = rotation as {
    rotationPeriod?: unknown;
    nextRotationTime?: unknown;
  };
  const seconds = typeof rotationPeriod === 'string' ? Number.parseFloat(rotationPeriod) : Number.NaN;
  if (Number.isFinite(seconds) && seconds > 0) {
    return seconds % 86_400 === 0
      ? { automaticallyAfterDays: seconds / 86_400 }
      : { scheduleExpression: `rate(${Math.round(seconds / 60)} minutes)` };
  }
  // A single notification at nextRotationTime, without a period, is still a schedule.
  return typeof nextRotationTime === 'string' ? {} : undefined;
}

/** Google's answers become ours by canonical status; messages never carry a secret value. */
function translate(error: unknown, ref: string): Error {
  if (error instanceof BrokerError) return error;
  if (error instanceof GoogleCredentialsError) {
    return new SecretBackendUnavailableError(`${error.message}; secret ${ref} cannot be managed`, {
      cause: error,
    });
  }
  if (error instanceof GoogleApiError) {
    switch (error.status) {
      case 'PERMISSION_DENIED':
        return new InvalidRequestError(
          `access to secret ${ref} was denied to the broker's Google identity`,
          'secret_ref',
          { cause: error },
        );
      case 'RESOURCE_EXHAUSTED':
        return new ThrottledError(`Secret Manager throttled a request for ${ref}`, {
          cause: error,
          retryAfterSeconds: 1,
        });
      case 'UNAUTHENTICATED':
        return new SecretBackendUnavailableError(
          `Secret Manager refused the broker's credentials for ${ref}`,
          {
            cause: error,
          },
        );
    }
    if (error.httpStatus >= 400 && error.httpStatus < 500) {
      return new InvalidRequestError(
        `Secret Manager refused the request for ${ref} (${error.status})`,
        'secret_ref',
        { cause: error },
      );
    }
  }
  return new SecretBackendUnavailableError(
    error instanceof ExchangeTimeoutError
      ? `Secret Manager did not answer in time for ${ref}`
      : `Secret Manager failed a request for ${ref}`,
    { cause: error },
  );
}
