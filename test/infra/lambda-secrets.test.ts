import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildApp } from '../../lib/app';
import {
  GOOGLE_CREDENTIALS_BUNDLE_NAME,
  VAULT_CA_BUNDLE_NAME,
} from '../../lib/constructs/lambda-secrets-access';
import type { FenceBucketBrokerStack } from '../../lib/stacks/fence-bucket-broker-stack';
import { FENCE_ROLE, outdir } from './synthesized-stack';

const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/broker-admin';
const EXTERNAL_ACCOUNT = join(__dirname, 'fixtures/gcp-external-account.json');
const VAULT_CA = join(__dirname, 'fixtures/vault-ca.pem');
const VAULT_CONTEXT = {
  secretsBackends: 'aws_sm,vault',
  vaultAddr: 'https://vault.example.org:8200',
  vaultPresignRole: 'fence-broker-presign',
  vaultAdminRole: 'fence-broker-admin',
  vaultDriftRole: 'fence-broker-drift',
  vaultAwsAuthMount: 'aws-lambda',
  vaultIamServerId: 'vault.example.org',
  vaultNamespace: 'gen3',
  vaultKvMount: 'kv',
  vaultCaCertFile: VAULT_CA,
};
const GCP_ACCOUNTS = {
  gcpPresignServiceAccount: 'fence-presign@gen3-data.iam.gserviceaccount.com',
  gcpAdminServiceAccount: 'fence-admin@gen3-data.iam.gserviceaccount.com',
  gcpDriftServiceAccount: 'fence-drift@gen3-data.iam.gserviceaccount.com',
};
const GCP_CONTEXT = {
  secretsBackends: 'aws_sm,gcp_sm',
  gcpExternalAccountFile: EXTERNAL_ACCOUNT,
  ...GCP_ACCOUNTS,
  gcpSecretManagerProject: 'gen3-data',
};

/** The presign, admin and drift-check functions: the ones that resolve secrets. */
function secretsFunctions(stack: FenceBucketBrokerStack): lambda.Function[] {
  const admin = stack.adminApi?.function;
  if (admin === undefined) throw new Error('the stack has no admin function');
  return [stack.presignApi.function, admin, stack.driftCheck.function];
}

function environmentOf(template: Template, fn: lambda.Function): Record<string, unknown> {
  const id = Stack.of(fn).getLogicalId(fn.node.defaultChild as never);
  const resource = template.toJSON().Resources[id];
  return resource.Properties.Environment.Variables;
}

function build(context: Record<string, unknown>) {
  return buildApp({
    outdir: outdir(),
    context: { fenceRoleArns: FENCE_ROLE, adminRoleArns: ADMIN_ROLE, ...context },
  });
}

describe('Stack: secrets backends of the Lambdas', () => {
  it('serves aws_sm alone by default, with no Google identity', () => {
    // Act
    const { stack } = build({});
    const template = Template.fromStack(stack);

    // Assess
    for (const fn of secretsFunctions(stack)) {
      const environment = environmentOf(template, fn);
      expect(environment.FENCE_SECRETS_BACKEND).toBe('aws_sm');
      expect(environment.GOOGLE_APPLICATION_CREDENTIALS).toBeUndefined();
    }
  });

  it('with gcp_sm and an external-account file, ships the file in each bundle and names it, cdk-nag passing', () => {
    // Act
    const { app, stack } = build(GCP_CONTEXT);
    const assembly = app.synth();
    const template = Template.fromStack(stack);

    // Assess: the environments, and the file byte for byte in each function's asset
    for (const fn of secretsFunctions(stack)) {
      const environment = environmentOf(template, fn);
      expect(environment.FENCE_SECRETS_BACKEND).toBe('aws_sm,gcp_sm');
      expect(environment.GOOGLE_APPLICATION_CREDENTIALS).toBe(`/var/task/${GOOGLE_CREDENTIALS_BUNDLE_NAME}`);
      const id = Stack.of(fn).getLogicalId(fn.node.defaultChild as never);
      const key = String((template.toJSON().Resources[id].Properties.Code as { S3Key: string }).S3Key);
      const shipped = readFileSync(
        join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`, GOOGLE_CREDENTIALS_BUNDLE_NAME),
        'utf8',
      );
      expect(shipped).toBe(readFileSync(EXTERNAL_ACCOUNT, 'utf8'));
    }
    expect(
      environmentOf(template, secretsFunctions(stack)[1] as lambda.Function).GCP_SECRET_MANAGER_PROJECT,
    ).toBe('gen3-data');
    expect(environmentOf(template, stack.presignApi.function).GCP_SECRET_MANAGER_PROJECT).toBeUndefined();
  });

  it('gives GCS workload identity to an aws_sm deployment given only the external-account file', () => {
    // Act
    const { stack } = build({ gcpExternalAccountFile: EXTERNAL_ACCOUNT, ...GCP_ACCOUNTS });
    const template = Template.fromStack(stack);

    // Assess
    const environment = environmentOf(template, stack.presignApi.function);
    expect(environment.FENCE_SECRETS_BACKEND).toBe('aws_sm');
    expect(environment.GOOGLE_APPLICATION_CREDENTIALS).toBe(`/var/task/${GOOGLE_CREDENTIALS_BUNDLE_NAME}`);
  });

  it('refuses a service-account key file: keys never go into a bundle', () => {
    // Prepare
    const key = join(mkdtempSync(join(tmpdir(), 'fbb-key-')), 'key.json');
    writeFileSync(
      key,
      JSON.stringify({
        type: 'service_account',
        client_email: 'x@p.iam.gserviceaccount.com',
        private_key: 'k',
      }),
    );

    // Act / Assess
    expect(() => build({ secretsBackends: 'gcp_sm', gcpExternalAccountFile: key })).toThrow(
      /service-account key; a key never goes into a Lambda bundle or environment/,
    );
  });

  it.each([
    [{ type: 'external_account', credential_source: { environment_id: 'azure1' } }, /federate from AWS/],
    [{ type: 'authorized_user' }, /must be an external_account/],
  ])('refuses a configuration that is not an AWS external account (%j)', (config, message) => {
    const file = join(mkdtempSync(join(tmpdir(), 'fbb-ext-')), 'config.json');
    writeFileSync(file, JSON.stringify(config));
    expect(() => build({ gcpExternalAccountFile: file })).toThrow(message);
  });

  it('with vault, logs the functions in by Vault AWS auth: the settings in each environment, the CA in each bundle, the roles to bind as an output, cdk-nag passing', () => {
    // Act
    const { app, stack } = build(VAULT_CONTEXT);
    const assembly = app.synth();
    const template = Template.fromStack(stack);

    // Assess
    for (const fn of secretsFunctions(stack)) {
      const environment = environmentOf(template, fn);
      expect(environment).toMatchObject({
        FENCE_SECRETS_BACKEND: 'aws_sm,vault',
        VAULT_ADDR: 'https://vault.example.org:8200',
        VAULT_AUTH_METHOD: 'aws',
        VAULT_AUTH_MOUNT: 'aws-lambda',
        VAULT_AWS_IAM_SERVER_ID: 'vault.example.org',
        VAULT_NAMESPACE: 'gen3',
        VAULT_KV_MOUNT: 'kv',
        VAULT_CACERT: `/var/task/${VAULT_CA_BUNDLE_NAME}`,
      });
      expect(environment.VAULT_AWS_STS_REGION).toBeUndefined();
      const id = Stack.of(fn).getLogicalId(fn.node.defaultChild as never);
      const key = String((template.toJSON().Resources[id].Properties.Code as { S3Key: string }).S3Key);
      const shipped = readFileSync(
        join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`, VAULT_CA_BUNDLE_NAME),
        'utf8',
      );
      expect(shipped).toBe(readFileSync(VAULT_CA, 'utf8'));
    }
    expect(template.findOutputs('VaultBoundRoleArns')).toEqual({});
  });

  it('refuses vault without its address or role, over plain http, with a CA file holding a key, and Vault settings without vault', () => {
    // Prepare
    const keyFile = join(mkdtempSync(join(tmpdir(), 'fbb-ca-')), 'ca.pem');
    writeFileSync(
      keyFile,
      // A CA bundle with a private key pasted in by mistake: a real key, made for this test.
      `${readFileSync(VAULT_CA, 'utf8')}${generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' })}`,
    );

    // Act / Assess
    expect(() => build({ secretsBackends: 'vault' })).toThrow(
      /secretsBackends vault needs -c vaultAddr=… and -c vaultIamServerId=… and -c vaultPresignRole=… and -c vaultAdminRole=… and -c vaultDriftRole=…/,
    );
    expect(() => build({ secretsBackends: 'vault', vaultAddr: 'https://vault.example.org' })).toThrow(
      /needs -c vaultIamServerId=… and -c vaultPresignRole=…/,
    );
    expect(() => build({ ...VAULT_CONTEXT, vaultAddr: 'http://vault.example.org:8200' })).toThrow(
      /vaultAddr must be an https:\/\/ address/,
    );
    expect(() => build({ ...VAULT_CONTEXT, vaultCaCertFile: keyFile })).toThrow(/holds a private key/);
    expect(() => build({ ...VAULT_CONTEXT, vaultCaCertFile: EXTERNAL_ACCOUNT })).toThrow(
      /holds no PEM certificate/,
    );
    expect(() => build({ vaultAddr: 'https://vault.example.org', vaultPresignRole: 'r' })).toThrow(
      /vaultAddr, vaultPresignRole, vaultAdminRole, vaultDriftRole need vault in secretsBackends/,
    );
    expect(() => build({ ...VAULT_CONTEXT, vaultStsRegion: 'Frankfurt' })).toThrow(/VAULT_AWS_STS_REGION/);
  });

  it('refuses k8s, which a Lambda cannot use, and gcp_sm without a Google identity', () => {
    expect(() => build({ secretsBackends: 'aws_sm,k8s' })).toThrow(/k8s reads secrets from mounted files/);
    expect(() => build({ secretsBackends: 'gcp_sm' })).toThrow(/gcpExternalAccountFile/);
    expect(() => build({ secretsBackends: 'aws_sm,s3' })).toThrow(/"s3" is not a secrets backend/);
  });

  it('refuses at synth a value the runtime schema would refuse at cold start', () => {
    expect(() => build({ ...GCP_CONTEXT, gcpSecretManagerProject: 'Not_A_Project' })).toThrow(
      /GCP_SECRET_MANAGER_PROJECT/,
    );
  });

  /** The output `name`'s value as the logical id of the role it names (`Fn::GetAtt [id, Arn]`). */
  const outputRole = (template: Template, name: string): string | undefined =>
    (template.findOutputs(name)[name]?.Value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.[
      'Fn::GetAtt'
    ]?.[0];
  const roleIdOf = (fn: lambda.Function) => Stack.of(fn).getLogicalId(fn.role?.node.defaultChild as never);

  it('gives each function its own Vault role, and outputs per function the execution role its Vault role binds', () => {
    // Act
    const { stack } = build(VAULT_CONTEXT);
    const template = Template.fromStack(stack);

    // Assess
    const [presign, admin, drift] = secretsFunctions(stack) as [
      lambda.Function,
      lambda.Function,
      lambda.Function,
    ];
    expect(environmentOf(template, presign).VAULT_ROLE).toBe('fence-broker-presign');
    expect(environmentOf(template, admin).VAULT_ROLE).toBe('fence-broker-admin');
    expect(environmentOf(template, drift).VAULT_ROLE).toBe('fence-broker-drift');
    expect(outputRole(template, 'VaultPresignBoundRoleArn')).toBe(roleIdOf(presign));
    expect(outputRole(template, 'VaultAdminBoundRoleArn')).toBe(roleIdOf(admin));
    expect(outputRole(template, 'VaultDriftCheckBoundRoleArn')).toBe(roleIdOf(drift));
    expect(JSON.stringify(template.findOutputs('VaultPresignBoundRoleArn'))).toContain(
      'fence-broker-presign',
    );
  });

  it("refuses a Vault deployment where two functions share a role (presign's equal to the admin's above all), or the old shared key", () => {
    expect(() => build({ ...VAULT_CONTEXT, vaultAdminRole: 'fence-broker-presign' })).toThrow(
      /vaultPresignRole and vaultAdminRole name the same Vault role .*presign can never write/,
    );
    expect(() => build({ ...VAULT_CONTEXT, vaultDriftRole: 'fence-broker-admin' })).toThrow(
      /vaultAdminRole and vaultDriftRole name the same Vault role/,
    );
    expect(() => build({ ...VAULT_CONTEXT, vaultAwsAuthRole: 'fence-bucket-broker' })).toThrow(
      /vaultAwsAuthRole .* is replaced by one role per function/,
    );
    const { vaultIamServerId: _, ...withoutServerId } = VAULT_CONTEXT;
    expect(() => build(withoutServerId)).toThrow(/needs -c vaultIamServerId=…/);
  });

  it('needs no admin Vault role where no admin function is deployed', () => {
    // Act
    const { vaultAdminRole: _, ...context } = VAULT_CONTEXT;
    const { stack } = buildApp({ outdir: outdir(), context: { fenceRoleArns: FENCE_ROLE, ...context } });
    const template = Template.fromStack(stack);

    // Assess
    expect(stack.adminApi).toBeUndefined();
    expect(environmentOf(template, stack.presignApi.function).VAULT_ROLE).toBe('fence-broker-presign');
    expect(template.findOutputs('VaultAdminBoundRoleArn')).toEqual({});
  });

  it('gives each function its own Google service account, and outputs per function the role it federates from', () => {
    // Act
    const { stack } = build(GCP_CONTEXT);
    const template = Template.fromStack(stack);

    // Assess
    const [presign, admin, drift] = secretsFunctions(stack) as [
      lambda.Function,
      lambda.Function,
      lambda.Function,
    ];
    expect(environmentOf(template, presign).GCP_IMPERSONATE_SERVICE_ACCOUNT).toBe(
      GCP_ACCOUNTS.gcpPresignServiceAccount,
    );
    expect(environmentOf(template, admin).GCP_IMPERSONATE_SERVICE_ACCOUNT).toBe(
      GCP_ACCOUNTS.gcpAdminServiceAccount,
    );
    expect(environmentOf(template, drift).GCP_IMPERSONATE_SERVICE_ACCOUNT).toBe(
      GCP_ACCOUNTS.gcpDriftServiceAccount,
    );
    expect(outputRole(template, 'GooglePresignFederatedRoleArn')).toBe(roleIdOf(presign));
    expect(outputRole(template, 'GoogleAdminFederatedRoleArn')).toBe(roleIdOf(admin));
    expect(outputRole(template, 'GoogleDriftCheckFederatedRoleArn')).toBe(roleIdOf(drift));
    expect(JSON.stringify(template.findOutputs('GoogleAdminFederatedRoleArn'))).toContain(
      GCP_ACCOUNTS.gcpAdminServiceAccount,
    );
    expect(template.findOutputs('GoogleFederatedRoleArns')).toEqual({});
  });

  it('refuses one Google identity for presign and the admin API: a file that impersonates for all, or the same account twice', () => {
    expect(() =>
      build({ ...GCP_CONTEXT, gcpAdminServiceAccount: GCP_ACCOUNTS.gcpPresignServiceAccount }),
    ).toThrow(/gcpPresignServiceAccount and gcpAdminServiceAccount name the same Google service account/);
    expect(() =>
      build({ secretsBackends: 'aws_sm,gcp_sm', gcpExternalAccountFile: EXTERNAL_ACCOUNT }),
    ).toThrow(/impersonates one service account for every function/);
    expect(() => build({ ...GCP_CONTEXT, gcpDriftServiceAccount: undefined })).toThrow(
      /needs its own Google service account: give -c gcpDriftServiceAccount=…/,
    );
  });

  it('lets each function federate as its own execution role when the file impersonates no one', () => {
    // Prepare
    const { service_account_impersonation_url: _, ...direct } = JSON.parse(
      readFileSync(EXTERNAL_ACCOUNT, 'utf8'),
    );
    const file = join(mkdtempSync(join(tmpdir(), 'fbb-ext-')), 'direct.json');
    writeFileSync(file, JSON.stringify(direct));

    // Act
    const { stack } = build({ secretsBackends: 'aws_sm,gcp_sm', gcpExternalAccountFile: file });
    const template = Template.fromStack(stack);

    // Assess
    for (const fn of secretsFunctions(stack)) {
      expect(environmentOf(template, fn).GCP_IMPERSONATE_SERVICE_ACCOUNT).toBeUndefined();
    }
    expect(outputRole(template, 'GooglePresignFederatedRoleArn')).toBe(roleIdOf(stack.presignApi.function));
  });

  it.each([
    ['token_url', 'https://sts.example.org/v1/token'],
    ['token_url', 'http://127.0.0.1:8080/v1/token'],
    [
      'service_account_impersonation_url',
      'https://iam.example.org/v1/projects/-/serviceAccounts/x@p.iam.gserviceaccount.com:generateAccessToken',
    ],
  ])('refuses an external-account file whose %s is not Google’s (%s)', (field, url) => {
    // Prepare
    const config = { ...JSON.parse(readFileSync(EXTERNAL_ACCOUNT, 'utf8')), [field]: url };
    const file = join(mkdtempSync(join(tmpdir(), 'fbb-ext-')), 'config.json');
    writeFileSync(file, JSON.stringify(config));

    // Act / Assess
    expect(() => build({ ...GCP_CONTEXT, gcpExternalAccountFile: file })).toThrow(
      new RegExp(`${field} must be Google's https://`),
    );
  });
});
