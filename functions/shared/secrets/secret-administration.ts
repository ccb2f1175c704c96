import type { SecretsBackend } from './backend-names';
import type { SecretPayload } from './secret-resolver';

/** One stored version of a secret and the labels it carries. */
export interface SecretVersionSummary {
  id: string;
  /** Staging labels (AWSCURRENT, AWSPREVIOUS, custom ones); empty when the backend has none. */
  stages: string[];
}

/** What admin flows need to know about a secret, never its value. */
export interface SecretDescription {
  /** The canonical reference to store in a record (the ARN for AWS Secrets Manager). */
  ref: string;
  /** The secret's name, which the prefix rules apply to. */
  name: string;
  rotationEnabled: boolean;
  /** The function that rotates it, when rotation is configured. */
  rotationFunctionArn?: string;
  kmsKeyId?: string;
  /** The rotation schedule, as the backend states it (AWS: `RotationRules`). */
  rotationRules?: SecretRotationRules;
  /** When the last rotation completed successfully (AWS: `LastRotatedDate`). */
  lastRotatedAt?: Date;
  createdAt?: Date;
  versions: SecretVersionSummary[];
  /**
   * The tags it was created with (never values): how the migration knows a secret is its own.
   * Undefined where the backend reports none.
   */
  tags?: Record<string, string>;
}

/** A rotation schedule: a number of days, or a `rate()`/`cron()` expression, and a window. */
export interface SecretRotationRules {
  automaticallyAfterDays?: number;
  scheduleExpression?: string;
  /** The rotation window, e.g. `3h` (AWS: `Duration`). */
  duration?: string;
}

/** The rotation a secret is given: its function and interval. */
export interface SecretRotationSetting {
  functionArn: string;
  automaticallyAfterDays: number;
}

export interface SecretCreation {
  /** KMS key (id, alias or ARN) to encrypt with. @default the backend's default key */
  kmsKeyId?: string;
  /** Tags naming what the secret is for and who created it (never values). */
  tags: Record<string, string>;
  description?: string;
}

/**
 * The admin side of a secrets backend: describe, create, remove and rotate. Reads of values stay
 * on `SecretResolver` (one interface, one cache); this interface is only used off the hot path,
 * by the admin core, the CLI and the migration.
 */
export interface SecretAdministration {
  readonly backend: SecretsBackend;
  /**
   * The ref a secret created as `name` will get, when it differs from the name (GCP Secret
   * Manager: `projects/P/secrets/<id>`), so a registration is checked before anything is written.
   */
  refFor?(name: string): string;
  /** The secret's description, or undefined when there is no such secret. */
  describe(ref: string): Promise<SecretDescription | undefined>;
  /** Creates `name` holding `payload`; throws `SecretExistsError` when the name is taken. */
  create(name: string, payload: SecretPayload, options: SecretCreation): Promise<SecretDescription>;
  /**
   * Stores `payload` as the secret's new current version (the one before stays, as the previous
   * version); the new version's id. Only backends that keep versions provide it: the migration
   * uses it to correct the keys of a secret it created and no record uses yet.
   */
  putValue?(ref: string, payload: SecretPayload): Promise<string>;
  /**
   * Adds `tags` to the secret (keeping its others). Only backends whose rotation is granted by a
   * tag provide it: the IAM key rotation's rights follow its tag (ABAC), so a secret is marked
   * before rotation is turned on.
   */
  tag?(ref: string, tags: Record<string, string>): Promise<void>;
  /**
   * Configures rotation through `rotation.functionArn` every `rotation.automaticallyAfterDays`
   * days, without rotating now. Only Secrets Manager provides it.
   */
  enableRotation?(ref: string, rotation: SecretRotationSetting): Promise<void>;
  /** Schedules deletion after a recovery window (never an immediate, unrecoverable delete). */
  remove(ref: string, recoveryWindowDays: number): Promise<void>;
  /** Starts a rotation through the secret's configured rotation function; returns the new version id. */
  rotate(ref: string): Promise<string>;
  /**
   * When a version was created, from the backend's metadata (never its value); undefined when
   * the version is unknown. Only backends with custom staging labels (pins that outlive
   * rotation) provide it: the drift check ages those pins with it.
   */
  versionCreatedAt?(ref: string, versionId: string): Promise<Date | undefined>;
}
