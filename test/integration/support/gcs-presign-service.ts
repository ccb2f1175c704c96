import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PresignEnvironmentSchema } from '../../../functions/presign/environment';
import { wirePresignService } from '../../../functions/presign/presign-wiring';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { FileBucketRegistry } from '../../../functions/shared/registry/file-bucket-registry';
import { uniqueName } from './aws';
import type { FakeGoogleCloud } from './fake-gcp';

/**
 * The presign service as the Lambda wires it for GCS buckets, over a file registry holding
 * `records`: its Google identity is the AWS emulator's caller federated through `fake` and acting
 * as `brokerAccount`; `k8s` secrets are read from `<directory>/secrets`.
 */
export async function gcsPresignService(
  fake: FakeGoogleCloud,
  options: {
    directory: string;
    brokerAccount: string;
    records: Record<string, unknown>[];
    variables?: Record<string, string>;
  },
) {
  const { directory } = options;
  const registry = new FileBucketRegistry(join(directory, `${uniqueName('registry')}.json`));
  for (const record of options.records) await registry.create(record as never);
  const configFile = join(directory, `${uniqueName('wif')}.json`);
  writeFileSync(
    configFile,
    JSON.stringify(
      fake.externalAccountConfig({
        awsStsUrl: `${process.env.AWS_ENDPOINT_URL}/`,
        impersonate: options.brokerAccount,
      }),
    ),
  );
  const environment = readEnvironment(PresignEnvironmentSchema, {
    REGISTRY_TABLE_NAME: 'unused',
    FENCE_SECRETS_BACKEND: 'k8s',
    FENCE_SECRETS_DIR: join(directory, 'secrets'),
    GOOGLE_APPLICATION_CREDENTIALS: configFile,
    GCP_IAM_CREDENTIALS_ENDPOINT: fake.url,
    // The external-account file names the fake's STS and IAM Credentials on loopback.
    GCP_EXTERNAL_ACCOUNT_ALLOW_LOOPBACK: 'true',
    ...options.variables,
  });
  return wirePresignService(environment, { registry }).service;
}
