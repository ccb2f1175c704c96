/**
 * @secrets-manager-on-moto this file proves the points moto_server.py patches in
 * moto; LocalStack's own departures are in localstack-semantics.localstack.test.ts.
 * @sts-on-moto the same file proves moto_server.py's fourth point, AssumeRole enforcing the
 * trust policy's external id, which LocalStack's STS does not.
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { createRoleRequiringExternalId, secretsManager, uniqueName } from '../support/aws';
import { ROTATION_LAMBDA_ARN } from '../support/rotation-driver';

/**
 * The three points where moto_server.py makes moto behave as AWS Secrets Manager does during
 * rotation (AWS documentation: RotateSecret, PutSecretValue, UpdateSecretVersionStage). Against
 * AWS itself these hold without the patch. LocalStack refuses RotateSecret without the rotation
 * Lambda and departs on point 2 (localstack-semantics.localstack.test.ts).
 */
describe('Emulator: Secrets Manager rotation semantics', () => {
  const client = secretsManager();
  const token = () => crypto.randomUUID();
  /** The error a call failed with (or undefined), captured at once so no rejection goes unhandled. */
  const outcome = (call: Promise<unknown>): Promise<unknown> =>
    call.then(
      () => undefined,
      (error: unknown) => error,
    );

  async function rotatingSecret() {
    const name = `gen3/fence/${uniqueName('semantics')}`;
    const created = await client.send(
      new CreateSecretCommand({ Name: name, SecretString: '{"v":"current"}' }),
    );
    return { name, current: created.VersionId ?? '' };
  }

  /** Starts a rotation (RotateSecret) and returns its token. */
  async function startRotation(name: string): Promise<string> {
    const pending = token();
    await client.send(
      new RotateSecretCommand({
        SecretId: name,
        ClientRequestToken: pending,
        RotationLambdaARN: ROTATION_LAMBDA_ARN,
      }),
    );
    return pending;
  }

  it('runs on moto_server.py in every run, LocalStack run included (the docblock says why)', async () => {
    // Act: moto answers its own API; LocalStack answers 404 there.
    const answer = await fetch(new URL('/moto-api/', process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER));

    // Assess
    expect(answer.status).toBe(200);
  });

  it('RotateSecret creates an empty AWSPENDING version under the token and leaves AWSCURRENT alone', async () => {
    // Prepare
    const { name, current } = await rotatingSecret();
    const pending = token();

    // Act
    await client.send(
      new RotateSecretCommand({
        SecretId: name,
        ClientRequestToken: pending,
        RotationLambdaARN: ROTATION_LAMBDA_ARN,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    const pendingValue = await outcome(
      client.send(
        new GetSecretValueCommand({ SecretId: name, VersionId: pending, VersionStage: 'AWSPENDING' }),
      ),
    );
    const unlabelled = await client.send(new GetSecretValueCommand({ SecretId: name }));

    // Assess
    expect(described.RotationEnabled).toBe(true);
    expect(described.VersionIdsToStages?.[pending]).toEqual(['AWSPENDING']);
    expect(described.VersionIdsToStages?.[current]).toEqual(['AWSCURRENT']);
    expect(pendingValue).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(unlabelled.SecretString).toBe('{"v":"current"}');
  });

  it('PutSecretValue fills the pending version once, accepts the same value again, refuses another', async () => {
    // Prepare
    const { name } = await rotatingSecret();
    const pending = await startRotation(name);
    const put = (value: string) =>
      client.send(
        new PutSecretValueCommand({
          SecretId: name,
          ClientRequestToken: pending,
          SecretString: value,
          VersionStages: ['AWSPENDING'],
        }),
      );

    // Act
    await put('{"v":"pending"}');
    await put('{"v":"pending"}');
    const different = await outcome(put('{"v":"other"}'));
    const stored = await client.send(
      new GetSecretValueCommand({ SecretId: name, VersionId: pending, VersionStage: 'AWSPENDING' }),
    );

    // Assess
    expect(different).toMatchObject({ name: 'ResourceExistsException' });
    expect(stored.SecretString).toBe('{"v":"pending"}');
  });

  it('UpdateSecretVersionStage moving AWSCURRENT changes what an unlabelled GetSecretValue returns', async () => {
    // Prepare
    const { name, current } = await rotatingSecret();
    const pending = await startRotation(name);
    await client.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: pending,
        SecretString: '{"v":"new"}',
        VersionStages: ['AWSPENDING'],
      }),
    );

    // Act
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: pending,
        RemoveFromVersionId: current,
      }),
    );
    const unlabelled = await client.send(new GetSecretValueCommand({ SecretId: name }));
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));

    // Assess
    expect(unlabelled.SecretString).toBe('{"v":"new"}');
    expect(described.VersionIdsToStages?.[pending]).toEqual(expect.arrayContaining(['AWSCURRENT']));
    expect(described.VersionIdsToStages?.[current]).toEqual(['AWSPREVIOUS']);
  });

  it('ListSecretVersionIds reports when each version was created (as GetSecretValue does), on one page', async () => {
    // Prepare: a version, then a second one after moto's clock (whole seconds) has moved on.
    const { name, current } = await rotatingSecret();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: '{"v":"second"}', VersionStages: ['BLUE'] }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1100));

    // Act
    const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    const read = async (versionId: string) =>
      (await client.send(new GetSecretValueCommand({ SecretId: name, VersionId: versionId }))).CreatedDate;

    // Assess
    const createdOf = (versionId: string) =>
      listed.Versions?.find((version) => version.VersionId === versionId)?.CreatedDate?.toISOString();
    expect(createdOf(current)).toBe((await read(current))?.toISOString());
    expect(createdOf(String(second.VersionId))).toBe((await read(String(second.VersionId)))?.toISOString());
    expect(createdOf(current)).not.toBe(createdOf(String(second.VersionId)));
    expect(listed.NextToken).toBeUndefined();
  });
});

/**
 * The point where moto_server.py makes moto's STS behave as AWS does for the drift check's role
 * proof: a trust policy's `sts:ExternalId` condition is enforced (AWS: "How to use an external
 * ID"). Roles unknown to moto's IAM are assumed as before.
 */
describe('Emulator: STS AssumeRole and the trust policy', () => {
  const sts = new STSClient({});
  const assume = (roleArn: string, externalId?: string) =>
    sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: 'semantics',
        ...(externalId === undefined ? {} : { ExternalId: externalId }),
      }),
    );

  it('assumes a role requiring an external id only with that external id', async () => {
    // Prepare
    const roleArn = await createRoleRequiringExternalId('gen3-commons');

    // Act
    const right = await assume(roleArn, 'gen3-commons');
    const wrong = await assume(roleArn, 'someone-else').catch((error: unknown) => error);
    const none = await assume(roleArn).catch((error: unknown) => error);

    // Assess
    expect(right.Credentials?.AccessKeyId).toBeTruthy();
    expect(wrong).toMatchObject({ name: 'AccessDenied' });
    expect(none).toMatchObject({ name: 'AccessDenied' });
  });

  it('still assumes a role moto does not know, with any external id', async () => {
    const answer = await assume('arn:aws:iam::123456789012:role/never-created', 'anything');
    expect(answer.Credentials?.AccessKeyId).toBeTruthy();
  });
});
