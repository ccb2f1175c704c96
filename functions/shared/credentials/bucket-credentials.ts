import type { SecretResolvers } from '../backends/backend-registry';
import { projectOfServiceAccount } from '../backends/gcp/service-account-project';
import type { WorkloadIdentitySigners } from '../backends/gcp/workload-identity-signers';
import { BucketMisconfiguredError } from '../errors';
import type { BucketOperation, BucketRecord } from '../registry/bucket-record';
import type { SecretPayload } from '../secrets/secret-resolver';
import { serviceAccountKeyFrom, staticCredentialsFrom } from '../secrets/secret-shapes';
import { type GcsSigner, ServiceAccountKeySigner } from '../signing/gcs-v4-presigner';
import type { SigningCredentials } from '../signing/sigv4-presigner';
import type { AssumedRoleCredentials } from './assumed-role-credentials';

/** What signs an S3 (or MinIO) bucket's URLs, and until when it works (undefined: static keys, no expiry). */
export interface S3SigningCredentials {
  credentials: SigningCredentials;
  expiresAt?: number;
  /** PEM bundle for stores with a private CA (static mode only). */
  caBundlePem?: string;
}

/** What signs a GCS bucket's URLs: a service account's key, held or reached through IAM. */
export interface GcsSigningCredentials {
  gcs: GcsSigner;
  /**
   * The signing account's project (the key's `project_id`, or the project its email names),
   * billed for requester-pays access unless the deployment names another; undefined when
   * neither says it.
   */
  project?: string;
  expiresAt?: undefined;
}

export type BucketSigningCredentials = S3SigningCredentials | GcsSigningCredentials;

export type { WorkloadIdentitySigners };

/**
 * The plan's `BucketCredentialsService`: role mode assumes a role (no secret is read), static
 * mode resolves `secret_ref` through the cached resolvers.
 */
export class BucketCredentialsService {
  // One SigningCredentials object per cached payload, so the presigner's signing-key cache hits.
  private readonly fromPayload = new WeakMap<SecretPayload, BucketSigningCredentials>();

  constructor(
    private readonly secrets: SecretResolvers,
    private readonly roles: AssumedRoleCredentials,
    /** GCP workload identity; absent when the deployment has no Google identity configured. */
    private readonly workloadIdentity?: WorkloadIdentitySigners,
  ) {}

  /** The longest a role-mode URL may live. */
  get maxRoleLifetimeMs(): number {
    return this.roles.maxLifetimeMs;
  }

  /**
   * The credentials that sign `record`'s URLs for at least `needs.lifetimeMs`. A fetch (secret
   * read or AssumeRole) gives up by `needs.deadline` (epoch ms) at the latest.
   */
  async credentialsFor(
    record: BucketRecord,
    needs: { lifetimeMs: number; requestId: string; deadline?: number },
  ): Promise<BucketSigningCredentials> {
    switch (record.auth_mode) {
      case 'role': {
        if (record.role_arn === null)
          throw new BucketMisconfiguredError(`bucket ${record.bucket_name} has no role_arn`);
        return this.roles.get({
          roleArn: record.role_arn,
          externalId: record.external_id,
          sessionPolicy: sessionPolicyFor(record),
          minRemainingMs: needs.lifetimeMs,
          requestId: needs.requestId,
          ...(needs.deadline === undefined ? {} : { deadline: needs.deadline }),
        });
      }
      case 'static': {
        if (record.secrets_backend === null || record.secret_ref === null) {
          throw new BucketMisconfiguredError(`bucket ${record.bucket_name} has no secret reference`);
        }
        const payload = await this.secrets
          .for(record.secrets_backend)
          .get(record.secret_ref, record.secret_version, { deadline: needs.deadline });
        let signing = this.fromPayload.get(payload);
        if (signing === undefined && record.provider === 'gcp') {
          const key = serviceAccountKeyFrom(record.secret_ref, payload);
          const project = key.project_id ?? projectOfServiceAccount(key.client_email);
          signing = {
            gcs: new ServiceAccountKeySigner(key),
            ...(project === undefined ? {} : { project }),
          };
          this.fromPayload.set(payload, signing);
        }
        if (signing === undefined) {
          const keys = staticCredentialsFrom(record.secret_ref, payload);
          signing = {
            credentials: {
              accessKeyId: keys.access_key_id,
              secretAccessKey: keys.secret_access_key,
              ...(keys.session_token === undefined ? {} : { sessionToken: keys.session_token }),
            },
            ...(keys.ca_bundle_pem === undefined ? {} : { caBundlePem: keys.ca_bundle_pem }),
          };
          this.fromPayload.set(payload, signing);
        }
        return signing;
      }
      case 'workload_identity': {
        if (this.workloadIdentity === undefined) {
          throw new BucketMisconfiguredError(
            `bucket ${record.bucket_name} uses GCP workload identity, and this deployment has no Google identity (GOOGLE_APPLICATION_CREDENTIALS)`,
          );
        }
        if (record.gcp_service_account === null) {
          throw new BucketMisconfiguredError(`bucket ${record.bucket_name} has no gcp_service_account`);
        }
        const project = projectOfServiceAccount(record.gcp_service_account);
        return {
          gcs: this.workloadIdentity.signerFor(record.gcp_service_account),
          ...(project === undefined ? {} : { project }),
        };
      }
    }
  }
}

const S3_ACTIONS: Record<BucketOperation, string[]> = {
  download: ['s3:GetObject', 's3:GetObjectVersion'],
  upload: ['s3:PutObject'],
  multipart: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
  list: ['s3:ListBucket'],
};

/** A session policy that narrows the role to this bucket and its allowed operations. */
export function sessionPolicyFor(record: BucketRecord): string {
  const objectActions = [
    ...new Set(record.allowed_ops.filter((op) => op !== 'list').flatMap((op) => S3_ACTIONS[op])),
  ];
  const statements: object[] = [];
  if (objectActions.length > 0) {
    statements.push({
      Effect: 'Allow',
      Action: objectActions,
      Resource: `arn:aws:s3:::${record.bucket_name}/*`,
    });
  }
  if (record.allowed_ops.includes('list')) {
    statements.push({
      Effect: 'Allow',
      Action: S3_ACTIONS.list,
      Resource: `arn:aws:s3:::${record.bucket_name}`,
    });
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}
