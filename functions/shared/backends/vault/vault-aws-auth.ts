import { credentialsFromEnvironment } from '../../aws/aws-json-client';
import { SigV4Presigner } from '../../signing/sigv4-presigner';
import type { VaultAnswer, VaultAuth, VaultLogin } from './vault-auth';
import { loginFrom, VaultLoginError } from './vault-auth';
import type { VaultAuthSettings } from './vault-settings';

/** AWS credentials as the SDK's providers give them. */
export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where the login's credentials come from, asked at every login. */
export type AwsIdentitySource = () => Promise<AwsIdentity>;

const SIGNER = new SigV4Presigner();

/** The one call Vault's IAM login accepts (its body may hold `Action` and `Version`, nothing else). */
const GET_CALLER_IDENTITY = 'Action=GetCallerIdentity&Version=2011-06-15';

/**
 * Vault's AWS auth method, IAM type: the broker signs an `sts:GetCallerIdentity` request with its
 * own AWS credentials (a Lambda's execution role) and hands it to Vault, which sends it to STS
 * and logs in whoever STS says signed it. Nothing secret is configured: the signature proves the
 * role. The credentials are asked for at every login, because they rotate; the SDK's chain is
 * imported only when the environment has none (the presign bundle leaves it to the Lambda
 * runtime, and a static import of it would load it at every cold start, Vault or not). The
 * signed request carries the session token, so it is only ever sent to Vault, never logged, and
 * a refusal names the status alone.
 */
export class AwsIamVaultAuth implements VaultAuth {
  readonly method = 'aws';

  constructor(
    private readonly settings: Extract<VaultAuthSettings, { method: 'aws' }>,
    /**
     * @default the environment's credentials, read at each login (a Lambda's execution role),
     * else the SDK's default provider chain
     */
    private readonly credentials: AwsIdentitySource = credentialsFromEnvironment,
  ) {}

  async login(post: (path: string, body: unknown) => Promise<VaultAnswer>): Promise<VaultLogin> {
    let identity: AwsIdentity;
    try {
      identity = await this.credentials();
    } catch (error) {
      throw new VaultLoginError(this.method, undefined, {
        cause: error,
        problem: 'found no AWS credentials',
      });
    }
    return loginFrom(
      this.method,
      await post(`auth/${this.settings.mount}/login`, {
        role: this.settings.role,
        ...(await this.signedCallerIdentityRequest(identity)),
      }),
    );
  }

  /** The login's `iam_*` fields: a GetCallerIdentity POST signed (SigV4, service `sts`) by `identity`. */
  private signedCallerIdentityRequest(identity: AwsIdentity) {
    const url = new URL(this.settings.stsUrl);
    const path = url.pathname === '' ? '/' : url.pathname;
    // The broker's own signer (held equal to the SDK's SignatureV4 by a property test), as the
    // GCP federation's GetCallerIdentity uses: already in every bundle, nothing more to load.
    const signed = SIGNER.signHeaders(identity, {
      method: 'POST',
      // Vault rebuilds the request for its own STS endpoint with this Host, so it must be signed.
      host: url.host,
      path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-vault-aws-iam-server-id': this.settings.serverId,
      },
      body: GET_CALLER_IDENTITY,
      region: this.settings.stsRegion,
      service: 'sts',
      now: new Date(),
    });
    const headers = Object.fromEntries(Object.entries(signed).map(([name, value]) => [name, [value]]));
    return {
      iam_http_request_method: 'POST',
      iam_request_url: base64(`${url.origin}${path}`),
      iam_request_body: base64(GET_CALLER_IDENTITY),
      iam_request_headers: base64(JSON.stringify(headers)),
    };
  }
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
