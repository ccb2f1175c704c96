/**
 * @secrets-manager-on-moto a whole rotation through the Lambda entry needs AWS's
 * rotation semantics, which moto_server.py gives moto; LocalStack refuses RotateSecret without the
 * rotation Lambda (localstack-semantics.localstack.test.ts).
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { readEndpoints } from '../services/endpoints';
import { secretsManager } from '../support/aws';
import { createRotatingMinioSecret } from '../support/rotating-minio-secret';
import { RotationDriver } from '../support/rotation-driver';
import { keyAt } from '../support/rotation-fixture';

describe('Handler: MinIO key-rotation Lambda entry (middy, Powertools)', () => {
  it('runs a whole rotation through the deployed entry point, logging steps but never a secret; a replayed finishSecret that cannot retire fails and is counted', async () => {
    // Prepare
    const { minio } = readEndpoints();
    const sm = secretsManager();
    const secret = await createRotatingMinioSecret(minio, sm);
    process.env.FENCE_SECRETS_PREFIX = 'gen3/fence/';
    process.env.FENCE_ALLOW_INSECURE_MINIO_HTTP = 'true'; // the test MinIO speaks http
    process.env.POWERTOOLS_METRICS_NAMESPACE = 'FenceBucketBrokerTest';
    const output: string[] = [];
    const capture = (chunk: unknown) => {
      output.push(String(chunk));
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(capture),
      jest.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    const { handler } = await import('../../../functions/rotate-minio-key/handler');
    const context = { awsRequestId: 'rotation-request', functionName: 'rotate-minio-key' } as Context;

    // Act
    const token = await new RotationDriver(sm, (event) => handler(event, context)).rotate(secret.name);
    const badEvent = await handler({ Step: 'eraseSecret', SecretId: secret.name }, context).then(
      () => undefined,
      (error: unknown) => error,
    );
    // Secrets Manager replays finishSecret while the admin credential is wrong.
    await sm.send(
      new PutSecretValueCommand({
        SecretId: secret.adminRef,
        SecretString: JSON.stringify({ access_key_id: minio.rootUser, secret_access_key: 'wrong-password' }),
      }),
    );
    const replay = await handler(
      { Step: 'finishSecret', SecretId: secret.name, ClientRequestToken: token },
      context,
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    for (const spy of spies) spy.mockRestore();

    // Assess
    const current = await keyAt(sm, secret.name, 'AWSCURRENT');
    expect(current.access_key_id).not.toBe(secret.first.accessKey);
    expect(badEvent).toMatchObject({ code: 'invalid_request' });
    expect(replay).toMatchObject({ name: 'RotationRetirementError' });
    const logs = output.join('');
    expect(logs).toContain('rotation step');
    expect(logs).toContain('RotationStepSucceeded');
    expect(logs).toContain('rotation step failed');
    expect(logs).toContain('"RotationRetirementFailed"');
    for (const value of [
      secret.first.secretKey,
      current.secret_access_key,
      minio.rootPassword,
      current.access_key_id,
    ])
      expect(logs).not.toContain(value);
  }, 90_000);
});
