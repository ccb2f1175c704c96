import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { VaultLoginError } from '../../../../functions/shared/backends/vault/vault-auth';
import { AwsIamVaultAuth } from '../../../../functions/shared/backends/vault/vault-aws-auth';

describe('Class: AwsIamVaultAuth', () => {
  const settings = {
    method: 'aws' as const,
    mount: 'aws',
    role: 'fbb',
    serverId: 'vault.example.org',
    stsUrl: 'https://sts.eu-west-1.amazonaws.com',
    stsRegion: 'eu-west-1',
  };
  const identity = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session-canary' };
  const decode = (value: unknown) => Buffer.from(String(value), 'base64').toString('utf8');

  it('posts a GetCallerIdentity request signed for the STS region, server id among the signed headers', async () => {
    // Prepare
    const posted: { path: string; body: Record<string, unknown> }[] = [];
    const auth = new AwsIamVaultAuth(settings, async () => identity);

    // Act
    const login = await auth.login(async (path, body) => {
      posted.push({ path, body: body as Record<string, unknown> });
      return { status: 200, body: { auth: { client_token: 't', lease_duration: 3600, renewable: true } } };
    });

    // Assess
    expect(login).toEqual({ token: 't', leaseMs: 3_600_000, renewable: true, revocable: true });
    const [{ path, body }] = posted as [(typeof posted)[number]];
    expect(path).toBe('auth/aws/login');
    expect(body.role).toBe('fbb');
    expect(body.iam_http_request_method).toBe('POST');
    expect(decode(body.iam_request_url)).toBe('https://sts.eu-west-1.amazonaws.com/');
    expect(decode(body.iam_request_body)).toBe('Action=GetCallerIdentity&Version=2011-06-15');
    const headers = JSON.parse(decode(body.iam_request_headers)) as Record<string, string[]>;
    expect(headers.host).toEqual(['sts.eu-west-1.amazonaws.com']);
    expect(headers['x-vault-aws-iam-server-id']).toEqual(['vault.example.org']);
    expect(headers['x-amz-security-token']).toEqual(['session-canary']);
    const [authorization] = headers.authorization ?? [];
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/sts\/aws4_request, /,
    );
    expect(authorization).toMatch(/SignedHeaders=[^,]*x-vault-aws-iam-server-id/);
  });

  it("signs the request exactly as the SDK's SignatureV4 signs it (what STS will check; the emulators do not)", async () => {
    // Prepare
    let body: Record<string, unknown> = {};
    const auth = new AwsIamVaultAuth(settings, async () => identity);

    // Act
    await auth.login(async (_path, posted) => {
      body = posted as Record<string, unknown>;
      return { status: 200, body: { auth: { client_token: 't', lease_duration: 60, renewable: false } } };
    });

    // Assess
    const sent = Object.fromEntries(
      Object.entries(JSON.parse(decode(body.iam_request_headers)) as Record<string, string[]>).map(
        ([name, [value]]) => [name, String(value)],
      ),
    );
    const amzDate = String(sent['x-amz-date']);
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const reference = await new SignatureV4({
      service: 'sts',
      region: 'eu-west-1',
      credentials: identity,
      sha256: Sha256,
      // As the SDK's own STS client signs: no x-amz-content-sha256 outside S3.
      applyChecksum: false,
    }).sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'https:',
        hostname: 'sts.eu-west-1.amazonaws.com',
        path: '/',
        headers: {
          host: 'sts.eu-west-1.amazonaws.com',
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          'x-vault-aws-iam-server-id': 'vault.example.org',
        },
        body: decode(body.iam_request_body),
      }),
      { signingDate },
    );
    expect(sent).toEqual(reference.headers);
  });

  it('asks for credentials at every login, and names a failure to find them without the cause in the message', async () => {
    // Prepare: a provider chain that finds nothing (no real server produces this).
    let asked = 0;
    const failing = new AwsIamVaultAuth(settings, async () => {
      asked++;
      throw new Error('Could not load credentials from any providers');
    });
    const working = new AwsIamVaultAuth(settings, async () => {
      asked++;
      return identity;
    });
    const refuse = async () => ({
      status: 400,
      body: { errors: ['IAM Principal does not belong to the role'] },
    });

    // Act
    const errors = await Promise.all(
      [failing.login(refuse), working.login(refuse), working.login(refuse)].map((login) =>
        login.then(
          () => undefined,
          (error: Error) => error,
        ),
      ),
    );

    // Assess
    expect(asked).toBe(3);
    expect(errors[0]).toBeInstanceOf(VaultLoginError);
    expect(errors[0]?.message).toBe("the broker's aws login to Vault found no AWS credentials");
    expect(errors[1]?.message).toBe("Vault refused the broker's aws login (400)");
    expect(errors[1]?.message).not.toContain('session-canary');
  });
});
