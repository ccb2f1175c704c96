import { createServer, type Server } from 'node:http';
import { AwsSecretsManagerResolver } from '../../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { CachingSecretResolver } from '../../../../functions/shared/secrets/caching-secret-resolver';
import { ManualClock } from '../../support/counting-resolver';

/**
 * Answers the emulators cannot give: moto and LocalStack never deny a read nor check the KMS
 * key's state. A loopback Secrets Manager that answers GetSecretValue with a value until the test
 * sets the AWS error it answers with instead.
 */
class ScriptedSecretsManager {
  refusal: { status: number; type: string } | undefined;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<ScriptedSecretsManager> {
    let scripted: ScriptedSecretsManager | undefined;
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const refusal = scripted?.refusal;
        response.writeHead(refusal?.status ?? 200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(
          JSON.stringify(
            refusal === undefined
              ? { SecretString: JSON.stringify({ access_key_id: 'warm', secret_access_key: 's' }) }
              : { __type: refusal.type, message: 'scripted' },
          ),
        );
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    scripted = new ScriptedSecretsManager(server, `http://127.0.0.1:${port}`);
    return scripted;
  }

  close(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }
}

describe('Class: CachingSecretResolver (in front of Secrets Manager refusing a cached secret)', () => {
  let scripted: ScriptedSecretsManager;
  beforeAll(async () => {
    scripted = await ScriptedSecretsManager.start();
  });
  afterAll(() => scripted.close());

  it.each([
    ['access denied', 400, 'AccessDeniedException', 'bucket_misconfigured', false],
    ['KMS key disabled', 400, 'DecryptionFailure', 'bucket_misconfigured', false],
    [
      'an unlisted refusal of the broker itself',
      400,
      'UnrecognizedClientException',
      'secret_backend_unavailable',
      false,
    ],
    ['an internal error', 500, 'InternalServiceError', 'secret_backend_unavailable', true],
  ])('after %s: stale only if transient', async (_, status, type, code, servesStale) => {
    // Prepare
    scripted.refusal = undefined;
    const clock = new ManualClock();
    const cached = new CachingSecretResolver(
      new AwsSecretsManagerResolver({ endpoint: scripted.url, region: 'us-east-1', maxAttempts: 1 }),
      { ttlMs: 300_000, jitter: 0, maxStaleMs: 3_600_000, clock: clock.read },
    );
    await cached.get('gen3/fence/scripted');

    // Act
    scripted.refusal = { status, type };
    clock.advance(300_001);
    const afterTtl = await cached.get('gen3/fence/scripted').catch((error: Error) => error);

    // Assess
    if (servesStale) {
      expect(afterTtl).toMatchObject({ access_key_id: 'warm' });
      expect(cached.stats().staleServes).toBe(1);
    } else {
      expect(afterTtl).toMatchObject({ code, transient: false });
      expect(cached.stats().staleServes).toBe(0);
    }
  });
});
