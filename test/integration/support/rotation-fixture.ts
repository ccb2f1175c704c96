import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsSecretsManagerResolver } from '../../../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { MinioAdminClient } from '../../../functions/shared/minio/minio-admin-client';
import { probeMinioBucket } from '../../../functions/shared/rotation/minio-bucket-probe';
import {
  MinioKeyRotation,
  type MinioKeyRotationDependencies,
} from '../../../functions/shared/rotation/minio-key-rotation';
import type { RetirementGrace } from '../../../functions/shared/rotation/retirement-grace';
import { RotationStore } from '../../../functions/shared/rotation/rotation-store';
import { minioRootClient } from './aws';
import type { MinioServerAccess } from './rotating-minio-secret';

export interface KeyPair {
  access_key_id: string;
  secret_access_key: string;
}

/** A grace of exactly `seconds`, whatever the secret (tests that are not about the rule use 0). */
export const fixedGrace = (seconds: number): RetirementGrace => ({ seconds: async () => seconds });

/**
 * The rotation core wired as the Lambda wires it, against the test servers: MinIO there speaks
 * http, so the https rule is relaxed (FENCE_ALLOW_INSECURE_MINIO_HTTP).
 */
export function testRotation(
  sm: SecretsManagerClient,
  overrides: Partial<MinioKeyRotationDependencies> = {},
): MinioKeyRotation {
  return new MinioKeyRotation({
    store: new RotationStore(sm),
    adminSecrets: new AwsSecretsManagerResolver(),
    adminClient: (connection) => new MinioAdminClient(connection),
    probe: probeMinioBucket,
    grace: fixedGrace(0),
    allowInsecureHttp: true,
    ...overrides,
  });
}

/** The key pair a stage (or version) of the secret holds. */
export async function keyAt(
  sm: SecretsManagerClient,
  name: string,
  at: { stage?: string; version?: string } | string,
): Promise<KeyPair & Record<string, string>> {
  const where = typeof at === 'string' ? { stage: at } : at;
  const answer = await sm.send(
    new GetSecretValueCommand({
      SecretId: name,
      ...(where.stage === undefined ? {} : { VersionStage: where.stage }),
      ...(where.version === undefined ? {} : { VersionId: where.version }),
    }),
  );
  return JSON.parse(answer.SecretString ?? '{}');
}

/** Whether a key pair can list the bucket on the real MinIO. */
export async function works(minio: MinioServerAccess, bucket: string, key: KeyPair): Promise<boolean> {
  const client = minioRootClient({
    endpoint: minio.endpoint,
    rootUser: key.access_key_id,
    rootPassword: key.secret_access_key,
  });
  return client.send(new ListObjectsV2Command({ Bucket: bucket })).then(
    () => true,
    () => false,
  );
}
