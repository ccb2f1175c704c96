import {
  BrokerError,
  CredentialsRejectedError,
  SecretBackendUnavailableError,
  ThrottledError,
} from '../../errors';
import { ExchangeTimeoutError } from '../../http/http-exchange';
import type { GcsSigner } from '../../signing/gcs-v4-presigner';
import type { GoogleAccessTokens } from './google-credentials';
import { callGoogle, GoogleApiError } from './google-http';

/**
 * Signs as a service account without its key (`auth_mode: workload_identity`): IAM Credentials
 * `signBlob`, called with the broker's own Google identity, which must hold
 * `roles/iam.serviceAccountTokenCreator` on the account. The identity's access token is cached
 * until shortly before it expires (as assumed-role credentials are), so a URL costs one
 * `signBlob` call.
 */
export class IamSignBlobSigner implements GcsSigner {
  constructor(
    readonly email: string,
    private readonly tokens: GoogleAccessTokens,
    private readonly endpoint = 'https://iamcredentials.googleapis.com',
    private readonly budgetMs = 2000,
  ) {}

  async sign(stringToSign: string, deadline?: number): Promise<Buffer> {
    const until = Math.min(Date.now() + this.budgetMs, deadline ?? Number.POSITIVE_INFINITY);
    const url = `${this.endpoint}/v1/projects/-/serviceAccounts/${encodeURIComponent(this.email)}:signBlob`;
    const body = { payload: Buffer.from(stringToSign, 'utf8').toString('base64') };
    for (let retried = false; ; retried = true) {
      let token: string;
      try {
        token = await this.tokens.token(until);
      } catch (error) {
        throw new SecretBackendUnavailableError(
          `the broker could not get a Google access token (${this.tokens.source.description}) to sign as ${this.email}`,
          { cause: error },
        );
      }
      try {
        const answer = await callGoogle({ method: 'POST', url, body, bearer: token, until });
        if (typeof answer?.signedBlob !== 'string') {
          throw new SecretBackendUnavailableError(
            `IAM Credentials answered signBlob for ${this.email} without a signature`,
          );
        }
        return Buffer.from(answer.signedBlob, 'base64');
      } catch (error) {
        if (error instanceof GoogleApiError && error.httpStatus === 401 && !retried) {
          this.tokens.forget(token);
          continue;
        }
        throw translate(error, this.email);
      }
    }
  }
}

function translate(error: unknown, email: string): Error {
  if (error instanceof BrokerError) return error;
  if (error instanceof GoogleApiError) {
    if (error.status === 'PERMISSION_DENIED' || error.status === 'NOT_FOUND') {
      return new CredentialsRejectedError(`IAM Credentials refused to sign as ${email}`, { cause: error });
    }
    if (error.status === 'RESOURCE_EXHAUSTED') {
      return new ThrottledError(`IAM Credentials throttled signing as ${email}`, {
        cause: error,
        retryAfterSeconds: 1,
      });
    }
  }
  return new SecretBackendUnavailableError(
    error instanceof ExchangeTimeoutError
      ? `IAM Credentials did not answer in time to sign as ${email}`
      : `IAM Credentials could not sign as ${email}`,
    { cause: error },
  );
}
