import type { SecretsEnvironment } from '../config/secrets-environment';
import type { WorkloadIdentitySigners } from '../credentials/bucket-credentials';
import type { GcsSigner } from '../presign/gcs-v4-presigner';
import { credentialsFileExchange, GoogleAccessTokens } from './google-credentials';
import { IamSignBlobSigner } from './iam-sign-blob-signer';

/**
 * Workload identity for GCS buckets: the broker's own Google identity (the credentials file of
 * `GOOGLE_APPLICATION_CREDENTIALS`, typically workload identity federation from AWS) signs as
 * each bucket's `gcp_service_account` through IAM Credentials. One access token serves every
 * account; undefined when the deployment has no Google identity.
 */
export function workloadIdentitySigners(
  environment: Pick<SecretsEnvironment, 'GOOGLE_APPLICATION_CREDENTIALS' | 'GCP_IAM_CREDENTIALS_ENDPOINT'>,
  budgetMs = 2000,
): WorkloadIdentitySigners | undefined {
  const file = environment.GOOGLE_APPLICATION_CREDENTIALS;
  if (file === undefined) return undefined;
  const tokens = new GoogleAccessTokens(credentialsFileExchange(file));
  const endpoint = (
    environment.GCP_IAM_CREDENTIALS_ENDPOINT ?? 'https://iamcredentials.googleapis.com'
  ).replace(/\/+$/, '');
  const signers = new Map<string, GcsSigner>();
  return {
    signerFor(serviceAccount: string): GcsSigner {
      let signer = signers.get(serviceAccount);
      if (signer === undefined) {
        signer = new IamSignBlobSigner(serviceAccount, tokens, endpoint, budgetMs);
        if (signers.size >= 1000) signers.clear();
        signers.set(serviceAccount, signer);
      }
      return signer;
    },
  };
}
