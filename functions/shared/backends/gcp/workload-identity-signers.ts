import type { GcsSigner } from '../../signing/gcs-v4-presigner';
import { type GcpEnvironment, type GoogleIdentityEnvironment, googleIdentityOptions } from './gcp-settings';

/** Signers for service accounts the broker acts as (workload identity), one per account. */
export interface WorkloadIdentitySigners {
  signerFor(serviceAccount: string): GcsSigner;
}

/**
 * Workload identity for GCS buckets: the broker's own Google identity (the credentials file of
 * `GOOGLE_APPLICATION_CREDENTIALS`, typically workload identity federation from AWS) signs as
 * each bucket's `gcp_service_account` through IAM Credentials. One access token serves every
 * account; undefined when the deployment has no Google identity. The Google code loads when a
 * workload-identity bucket first signs, so deployments without GCP buckets never run it.
 */
export function workloadIdentitySigners(
  environment: Pick<GcpEnvironment, 'GOOGLE_APPLICATION_CREDENTIALS'> & GoogleIdentityEnvironment,
  budgetMs = 2000,
): WorkloadIdentitySigners | undefined {
  const file = environment.GOOGLE_APPLICATION_CREDENTIALS;
  if (file === undefined) return undefined;
  const endpoint = (
    environment.GCP_IAM_CREDENTIALS_ENDPOINT ?? 'https://iamcredentials.googleapis.com'
  ).replace(/\/+$/, '');
  let tokens: Promise<import('./google-credentials').GoogleAccessTokens> | undefined;
  const sharedTokens = () => {
    tokens ??= import('./google-credentials').then(
      ({ credentialsFileExchange, GoogleAccessTokens }) =>
        new GoogleAccessTokens(credentialsFileExchange(file, googleIdentityOptions(environment))),
    );
    return tokens;
  };
  const signers = new Map<string, GcsSigner>();
  return {
    signerFor(serviceAccount: string): GcsSigner {
      let signer = signers.get(serviceAccount);
      if (signer === undefined) {
        let loaded: Promise<GcsSigner> | undefined;
        signer = {
          email: serviceAccount,
          async sign(stringToSign: string, deadline?: number): Promise<Buffer> {
            loaded ??= Promise.all([import('./iam-sign-blob-signer'), sharedTokens()]).then(
              ([{ IamSignBlobSigner }, shared]) =>
                new IamSignBlobSigner(serviceAccount, shared, endpoint, budgetMs),
            );
            return (await loaded).sign(stringToSign, deadline);
          },
        };
        if (signers.size >= 1000) signers.clear();
        signers.set(serviceAccount, signer);
      }
      return signer;
    },
  };
}
