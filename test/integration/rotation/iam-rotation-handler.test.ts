/**
 * @secrets-manager-on-moto a whole rotation through the Lambda entry needs AWS's rotation
 * semantics, which moto_server.py gives moto (as rotation-handler.test.ts).
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { secretsManager } from '../support/aws';
import { accessKeysOf, createRotatingIamSecret } from '../support/rotating-iam-user';
import { RotationDriver } from '../support/rotation-driver';
import { keyAt } from '../support/rotation-fixture';

describe('Handler: IAM user key rotation Lambda entry (middy, Powertools)', () => {
  it('runs whole rotations through the entry point, logging steps but never a secret; the two-key limit fails the step and is counted', async () => {
    // Prepare
    const sm = secretsManager();
    const iam = new IAMClient({});
    const secret = await createRotatingIamSecret({ iam, s3: new S3Client({ forcePathStyle: true }), sm });
    process.env.FENCE_SECRETS_PREFIX = 'gen3/fence/';
    process.env.ROTATED_IAM_USER_PATH = '/gen3-buckets/';
    process.env.STORE_ENDPOINT_ALLOW_HTTP = 'true'; // moto's S3 speaks http on loopback
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
    const { handler } = await import('../../../functions/rotate-iam-user-key/handler');
    const context = {
      awsRequestId: 'rotation-request',
      functionName: 'rotate-iam-user-key',
      getRemainingTimeInMillis: () => 60_000,
    } as unknown as Context;
    const driver = new RotationDriver(sm, (event) => handler(event, context));

    // Act: the default grace (over an hour) keeps the previous key, so the second rotation must wait.
    await driver.rotate(secret.name);
    const afterFirst = await accessKeysOf(iam, secret.user);
    const blocked = await driver.rotate(secret.name, { maxAttempts: 1 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    for (const spy of spies) spy.mockRestore();

    // Assess
    const current = await keyAt(sm, secret.name, 'AWSCURRENT');
    expect(current.access_key_id).not.toBe(secret.first.accessKeyId);
    expect(afterFirst).toEqual(new Set([secret.first.accessKeyId, current.access_key_id]));
    expect(blocked).toMatchObject({ name: 'IamUserKeyLimitError' });
    expect(await accessKeysOf(iam, secret.user)).toEqual(afterFirst);
    const logs = output.join('');
    expect(logs).toContain('rotation step');
    expect(logs).toContain('RotationStepSucceeded');
    expect(logs).toContain('rotation step failed');
    expect(logs).toContain('IamUserKeyLimitError');
    for (const value of [secret.first.secretAccessKey, current.secret_access_key, current.access_key_id])
      expect(logs).not.toContain(value);
  }, 90_000);
});
