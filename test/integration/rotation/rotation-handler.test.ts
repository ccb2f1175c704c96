import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { readEndpoints } from '../services/endpoints';
import { secretsManager } from '../support/aws';
import { createRotatingMinioSecret } from '../support/rotating-minio-secret';
import { RotationDriver } from '../support/rotation-driver';

describe('Handler: MinIO key-rotation Lambda entry (middy, Powertools)', () => {
  it('runs a whole rotation through the deployed entry point, logging steps but never a secret', async () => {
    // Prepare
    const { minio } = readEndpoints();
    const sm = secretsManager();
    const { name, first } = await createRotatingMinioSecret(minio, sm);
    process.env.FENCE_SECRETS_PREFIX = 'gen3/fence/';
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
    await new RotationDriver(sm, (event) => handler(event, context)).rotate(name);
    const badEvent = await handler({ Step: 'eraseSecret', SecretId: name }, context).then(
      () => undefined,
      (error: unknown) => error,
    );
    for (const spy of spies) spy.mockRestore();

    // Assess
    const current = JSON.parse(
      (await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' })))
        .SecretString ?? '{}',
    );
    expect(current.access_key_id).not.toBe(first.accessKey);
    expect(badEvent).toMatchObject({ code: 'invalid_request' });
    const logs = output.join('');
    expect(logs).toContain('rotation step');
    expect(logs).toContain('RotationStepSucceeded');
    expect(logs).toContain('rotation step failed');
    for (const secret of [first.secretKey, current.secret_access_key, minio.rootPassword])
      expect(logs).not.toContain(secret);
  }, 60_000);
});
