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
  vaultAwsAuthRole: 'fence-bucket-broker',
  vaultAwsAuthMount: 'aws-lambda',
  vaultIamServerId: 'vault.example.org',
  vaultNamespace: 'gen3',
  vaultKvMount: 'kv',
  vaultCaCertFile: VAULT_CA,
};
const GCP_CONTEXT = {
  secretsBackends: 'aws_sm,gcp_sm',
  gcpExternalAccountFile: EXTERNAL_ACCOUNT,
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
    const { stack } = build({ gcpExternalAccountFile: EXTERNAL_ACCOUNT });
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
        VAULT_ROLE: 'fence-bucket-broker',
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
    const output = template.findOutputs('VaultBoundRoleArns').VaultBoundRoleArns;
    const roles = JSON.stringify(output?.Value);
    for (const fn of secretsFunctions(stack)) {
      const roleId = Stack.of(fn).getLogicalId(fn.role?.node.defaultChild as never);
      expect(roles).toContain(roleId);
    }
    expect(template.findOutputs('GoogleFederatedRoleArns')).toEqual({});
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
      /secretsBackends vault needs -c vaultAddr=… and -c vaultAwsAuthRole=…/,
    );
    expect(() => build({ secretsBackends: 'vault', vaultAddr: 'https://vault.example.org' })).toThrow(
      /needs -c vaultAwsAuthRole=…/,
    );
    expect(() => build({ ...VAULT_CONTEXT, vaultAddr: 'http://vault.example.org:8200' })).toThrow(
      /vaultAddr must be an https:\/\/ address/,
    );
    expect(() => build({ ...VAULT_CONTEXT, vaultCaCertFile: keyFile })).toThrow(/holds a private key/);
    expect(() => build({ ...VAULT_CONTEXT, vaultCaCertFile: EXTERNAL_ACCOUNT })).toThrow(
      /holds no PEM certificate/,
    );
    expect(() => build({ vaultAddr: 'https://vault.example.org', vaultAwsAuthRole: 'r' })).toThrow(
      /vaultAddr, vaultAwsAuthRole need vault in secretsBackends/,
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
});
