import { AwsIamVaultAuth } from '../../../functions/shared/secrets/vault-aws-auth';
import { VaultLoginError } from '../../../functions/shared/secrets/vault-client';

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
    expect(login).toEqual({ token: 't', leaseMs: 3_600_000, renewable: true });
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
