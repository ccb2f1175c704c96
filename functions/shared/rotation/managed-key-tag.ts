import { createHash } from 'node:crypto';

/**
 * What a MinIO access key's description says about it when rotation manages it: whose it is (a
 * hash of the secret's full ARN: secret names repeat across accounts, ARNs do not), when it
 * stopped being AWSCURRENT, and, for people reading `mc admin user svcacct ls`, the secret's name.
 */
export interface ManagedKeyTag {
  /** `secretArnHash` of the secret the key belongs to. */
  arnHash: string;
  /** When the key stopped being AWSCURRENT (or was found not current); absent while it is in use. */
  demotedAt?: Date;
  /** Informative only (cut to fit MinIO's limit); never used to match. */
  secretName: string;
}

const PREFIX = 'fence-bucket-broker rotation';
/** MinIO refuses descriptions longer than 256 bytes. */
export const MAX_DESCRIPTION_BYTES = 256;
const TAG = /^fence-bucket-broker rotation arn-sha256=([0-9a-f]{32})(?: demoted=(\S+))? (.*)$/s;

/** The first 32 hex digits of SHA-256 over the secret's full ARN. */
export function secretArnHash(secretArn: string): string {
  return createHash('sha256').update(secretArn).digest('hex').slice(0, 32);
}

/** The description that marks a key as managed; the secret name comes last and is cut to fit. */
export function writeManagedKeyTag(tag: ManagedKeyTag): string {
  const head = `${PREFIX} arn-sha256=${tag.arnHash}${tag.demotedAt === undefined ? '' : ` demoted=${tag.demotedAt.toISOString()}`} `;
  let text = `${head}${tag.secretName}`;
  // Cut by bytes, and never through a multi-byte character.
  while (Buffer.byteLength(text) > MAX_DESCRIPTION_BYTES) text = [...text].slice(0, -1).join('');
  return text;
}

/** The tag in a key's description, or undefined when the description is not one of ours. */
export function readManagedKeyTag(description: string | undefined): ManagedKeyTag | undefined {
  const match = description === undefined ? null : TAG.exec(description);
  if (match === null) return undefined;
  const [, arnHash = '', demoted, secretName = ''] = match;
  if (demoted === undefined) return { arnHash, secretName };
  const demotedAt = new Date(demoted);
  // A stamp we cannot read is treated as missing: the key is then stamped again, later (safe).
  return Number.isNaN(demotedAt.getTime()) ? { arnHash, secretName } : { arnHash, demotedAt, secretName };
}
