import type { MinioAdminClient, MinioAdminConnection, ServiceAccountInfo } from '../minio/minio-admin-client';
import { managedKeys, needsGrace, planRetirement } from '../rotation/key-retirement-plan';
import { secretArnHash } from '../rotation/managed-key-tag';
import { type MinioRotationSecret, minioRotationSecretFrom } from '../rotation/minio-rotation-secret';
import type { RetirementGrace } from '../rotation/retirement-grace';
import type { SecretDescription } from '../secrets/secret-administration';
import type { SecretPayload } from '../secrets/secret-resolver';
import { staticCredentialsFrom } from '../secrets/secret-shapes';
import { DriftFinding } from './drift-finding';
import { checkRotationSchedule, type RotatedSecretKind } from './rotated-secrets';

/** How the drift check reaches MinIO's admin API: the credential a secret names, and a client. */
export interface MinioAdminAccess {
  /** The MinIO admin credential `minio_admin_secret_ref` names (read-only). */
  credentials: (ref: string) => Promise<SecretPayload>;
  client: (connection: MinioAdminConnection) => Pick<MinioAdminClient, 'listServiceAccounts'>;
}

export interface MinioRotationDriftDependencies {
  admin: MinioAdminAccess;
  /** The rotation function's grace rule, so "too many keys" means what finishSecret would delete. */
  grace: RetirementGrace;
  /** Accept `http` MinIO endpoints (tests, development), as the rotation function may. */
  allowInsecureHttp: boolean;
  clock: () => Date;
  /** MinIO admin calls may not take longer than this. */
  timeoutMs: number;
}

/** DESIGN.md: log (and report) at most the last 4 characters of an access key id. */
const keyHint = (accessKey: string) => `…${accessKey.slice(-4)}`;

const MINIO_ROTATED: RotatedSecretKind = { rotation: 'MinIO', marker: 'it names minio_parent_user' };

/** A secret that MinIO rotation manages: it carries the rotation metadata (README runbook). */
export function isMinioRotated(payload: SecretPayload | undefined): payload is SecretPayload {
  return payload !== undefined && 'minio_parent_user' in payload;
}

/**
 * The drift checks of a MinIO-rotated secret, with the rotation module's own rules: its tag
 * reader and retirement plan (key-retirement-plan.ts), grace and schedule (rotation-interval.ts).
 * One instance per run: a parent's key listing is fetched once and shared by every secret on it.
 */
export class MinioRotationDrift {
  private readonly listings = new Map<string, Promise<ServiceAccountInfo[]>>();

  constructor(private readonly deps: MinioRotationDriftDependencies) {}

  /** The rotation metadata of a version's payload; a finding when it breaks the rotation shape. */
  rotationSecret(name: string, payload: SecretPayload): MinioRotationSecret {
    try {
      return minioRotationSecretFrom(name, payload, { allowInsecureHttp: this.deps.allowInsecureHttp });
    } catch (error) {
      throw new DriftFinding(
        error instanceof Error ? error.message : `secret ${name} breaks the rotation shape`,
      );
    }
  }

  /**
   * The `rotation` check of a MinIO-rotated secret: its rotation metadata keeps the rotation
   * shape, and its schedule holds (`checkRotationSchedule`, the rule every rotated secret has).
   */
  checkRotation(description: SecretDescription, current: SecretPayload): string {
    // A disabled rotation is the finding, whatever shape its metadata has now.
    if (description.rotationEnabled) this.rotationSecret(description.name, current);
    return checkRotationSchedule(description, MINIO_ROTATED, this.deps.clock());
  }

  /**
   * The parent holds the key of AWSCURRENT, and no key of this secret that finishSecret would
   * delete: every key it keeps is current, previous, pending, pinned by a custom label, or still
   * within its grace.
   */
  async checkManagedKeys(
    description: SecretDescription,
    current: MinioRotationSecret,
    readVersion: (versionId: string) => Promise<SecretPayload>,
  ): Promise<string> {
    const labels = new Map<string, Set<string>>();
    for (const version of description.versions) {
      if (version.stages.length === 0) continue;
      let accessKey: string;
      try {
        accessKey = staticCredentialsFrom(
          `${description.name} (version ${version.id})`,
          await readVersion(version.id),
        ).access_key_id;
      } catch (error) {
        // An empty AWSPENDING version holds no key yet.
        if (version.stages.includes('AWSPENDING') && !version.stages.includes('AWSCURRENT')) continue;
        throw error;
      }
      const held = labels.get(accessKey) ?? new Set<string>();
      for (const stage of version.stages) held.add(stage);
      labels.set(accessKey, held);
    }
    const keys = await this.listing(current);
    const input = {
      secret: { arnHash: secretArnHash(description.ref), name: description.name },
      parentUser: current.minio_parent_user,
      keys,
      labels,
      now: this.deps.clock(),
    };
    if (!keys.some((key) => key.accessKey === current.access_key_id)) {
      throw new DriftFinding(
        `the AWSCURRENT key ${keyHint(current.access_key_id)} of ${description.name} does not exist in MinIO for ${current.minio_parent_user}`,
      );
    }
    const managed = managedKeys(input);
    const graceSeconds = needsGrace(managed)
      ? await this.deps.grace.seconds({ name: description.name, arn: description.ref })
      : 0;
    const overdue = planRetirement(input, managed, graceSeconds).filter((action) => action.kind === 'delete');
    if (overdue.length > 0) {
      const hints = overdue
        .slice(0, 5)
        .map((action) =>
          action.kind === 'delete'
            ? `${keyHint(action.accessKey)} (demoted ${action.demotedAt.toISOString()})`
            : '',
        )
        .join(', ');
      throw new DriftFinding(
        `${current.minio_parent_user} holds ${overdue.length} key(s) of ${description.name} past their grace of ${Math.round(graceSeconds)} s, which rotation should have deleted: ${hints}`,
      );
    }
    const withinGrace = managed.filter((key) => key.labels.size === 0).length;
    return `${current.minio_parent_user} holds ${managed.length} key(s) of this secret, ${withinGrace} of them unlabelled and within the grace`;
  }

  /** The parent's keys, listed once per run per MinIO, admin credential and parent. */
  private listing(secret: MinioRotationSecret): Promise<ServiceAccountInfo[]> {
    const key = JSON.stringify([
      secret.minio_endpoint,
      secret.minio_admin_secret_ref,
      secret.minio_parent_user,
    ]);
    let listed = this.listings.get(key);
    if (listed === undefined) {
      listed = (async () => {
        const admin = staticCredentialsFrom(
          secret.minio_admin_secret_ref,
          await this.deps.admin.credentials(secret.minio_admin_secret_ref),
        );
        return this.deps.admin
          .client({
            endpoint: secret.minio_endpoint,
            accessKey: admin.access_key_id,
            secretKey: admin.secret_access_key,
            timeoutMs: this.deps.timeoutMs,
            ...(secret.ca_bundle_pem === undefined ? {} : { caPem: secret.ca_bundle_pem }),
          })
          .listServiceAccounts(secret.minio_parent_user);
      })();
      this.listings.set(key, listed);
    }
    return listed;
  }
}
