import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startLocalRunner } from '../../../functions/local/local-runner';
import { DynamoDbBucketRegistry } from '../../../functions/shared/registry/dynamodb-bucket-registry';
import { readEndpoints } from '../services/endpoints';
import { createRegistryTable, dynamoDb, secretsManager, uniqueName } from '../support/aws';
import { TcpProxy } from '../support/tcp-proxy';

/** The README's Python snippet, exactly as the README shows it. */
function readmeSnippet(): string {
  const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
  return readme.split('### Calling from Fence')[1]?.split('```python')[1]?.split('```')[0] ?? '';
}

/** Runs the snippet against `broker`, then `action` (Python), and returns what it printed. */
async function runSnippet(broker: string, action: string): Promise<string> {
  const program = `${readmeSnippet()}\nBROKER = ${JSON.stringify(broker)}\n${action}\n`;
  // Asynchronous: the runner answers from this same process.
  const { stdout } = await promisify(execFile)(process.env.PYTHON ?? 'python3', ['-c', program], {
    encoding: 'utf8',
    env: { ...process.env, AWS_DEFAULT_REGION: process.env.AWS_REGION ?? 'us-east-1' },
  });
  return stdout;
}

/** Python that calls `call` and prints the answer, or the BrokerError's fields, as JSON. */
const printOutcome = (call: string) => `
try:
    print(json.dumps({"answer": ${call}}))
except BrokerError as error:
    print(json.dumps({"error": {"status": error.status, "code": error.code, "message": error.message,
                                "request_id": error.request_id, "retry_after": error.retry_after}}))
`;

describe('README: Calling from Fence', () => {
  it('shows a snippet that raises an error carrying status, code, message, request id and Retry-After', () => {
    const snippet = readmeSnippet();
    expect(snippet).toContain('SigV4Auth');
    expect(snippet).toContain('class BrokerError(Exception)');
    expect(snippet).toContain('def presign_with_retry(');
  });

  it('runs the snippet as written (botocore SigV4 + requests) against the API', async () => {
    // Prepare: the README's snippet, pointed at a local runner instead of API Gateway.
    const runner = await startLocalRunner({
      port: 0,
      env: { FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-fence-')) },
    });

    try {
      // Act
      const output = await runSnippet(
        runner.url,
        printOutcome('presign("demo-bucket", "data/file.bam", user={"id": 42, "name": "alice"})'),
      );
      const refused = await runSnippet(
        runner.url,
        printOutcome('presign_with_retry("never-registered", "k")'),
      );

      // Assess
      const { answer } = JSON.parse(output) as { answer: { url: string; method: string } };
      expect(answer.method).toBe('GET');
      expect(answer.url).toContain('/demo-bucket/data/file.bam?');
      expect(answer.url).toContain('username=alice');
      expect(answer.url).toContain('user_id=42');
      // A 404 is final: raised at once, with every field, and no Retry-After.
      expect(JSON.parse(refused)).toEqual({
        error: {
          status: 404,
          code: 'unknown_bucket',
          message: 'no bucket named "never-registered" is registered',
          request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          retry_after: null,
        },
      });
    } finally {
      await runner.close();
    }
  }, 60_000);

  it('retries a 503 after its Retry-After and succeeds once the secret backend is back', async () => {
    // Prepare: a bucket whose keys live in Secrets Manager, reached through a proxy that is down.
    const endpoints = readEndpoints();
    const bucket = uniqueName('fence-retry');
    const secretRef = `gen3/fence/minio/${bucket}`;
    await secretsManager().send(
      new CreateSecretCommand({
        Name: secretRef,
        SecretString: JSON.stringify({ access_key_id: 'AKIDFENCERETRY', secret_access_key: 'x'.repeat(40) }),
      }),
    );
    const registry = new DynamoDbBucketRegistry(await createRegistryTable(dynamoDb()));
    await registry.create({
      bucket_name: bucket,
      provider: 'minio',
      auth_mode: 'static',
      secrets_backend: 'aws_sm',
      secret_ref: secretRef,
      endpoint: endpoints.minio.endpoint,
      allowed_ops: ['download'],
    });
    const { proxy, url: secretsUrl } = await TcpProxy.start(
      process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? '',
    );
    await proxy.close();
    const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secretsUrl;
    const runner = await startLocalRunner({
      port: 0,
      env: { ...process.env, REGISTRY_TABLE_NAME: registry.tableName },
    }).finally(() => {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
      else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
    });
    // Once armed, the backend comes back as soon as an attempt has been answered 503.
    let reopenOnFailure = false;
    const outcomes: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      const text = String(chunk);
      if (text.includes(`"bucket":"${bucket}"`)) {
        const outcome = String((JSON.parse(text) as { outcome: string }).outcome);
        outcomes.push(outcome);
        if (outcome === 'secret_backend_unavailable' && reopenOnFailure) {
          reopenOnFailure = false;
          void proxy.reopen();
        }
        return true;
      }
      return write(chunk);
    });

    try {
      // Act
      const first = await runSnippet(runner.url, printOutcome(`presign(${JSON.stringify(bucket)}, "k")`));
      reopenOnFailure = true;
      const before = outcomes.length;
      const retried = await runSnippet(
        runner.url,
        printOutcome(`presign_with_retry(${JSON.stringify(bucket)}, "k", attempts=3)["method"]`),
      );

      // Assess: the first call is the 503 with its Retry-After; the retrying call succeeds.
      expect(JSON.parse(first)).toEqual({
        error: {
          status: 503,
          code: 'secret_backend_unavailable',
          message: `Secrets Manager could not be reached for ${secretRef}`,
          request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          retry_after: 5,
        },
      });
      // The retrying call: its first attempt answered 503, the one after Retry-After succeeded.
      expect(JSON.parse(retried)).toEqual({ answer: 'GET' });
      expect(outcomes.slice(before)).toEqual(['secret_backend_unavailable', 'ok']);
    } finally {
      spy.mockRestore();
      await runner.close();
      await proxy.close();
    }
  }, 90_000);
});
