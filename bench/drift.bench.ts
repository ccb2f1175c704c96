// The benches' stores listen on loopback over http, as the tests' do (the one setting they share).
import '../test/support/store-endpoints';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { wireDriftCheck } from '../functions/drift-check/drift-wiring';
import { DriftEnvironmentSchema } from '../functions/drift-check/environment';
import { AwsSecretsManagerAdministration } from '../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-administration';
import { AwsSecretsManagerResolver } from '../functions/shared/backends/aws-secrets-manager/aws-secrets-manager-resolver';
import { readEnvironment } from '../functions/shared/config/environment';
import { AssumedRoleCredentials } from '../functions/shared/credentials/assumed-role-credentials';
import { AwsKmsKeys } from '../functions/shared/drift/kms-keys';
import { AwsSecretResourcePolicies } from '../functions/shared/drift/secret-resource-policies';
import { MinioAdminClient } from '../functions/shared/minio/minio-admin-client';
import { probeBucketAccess } from '../functions/shared/probes/bucket-access-probe';
import { DynamoDbBucketRegistry } from '../functions/shared/registry/dynamodb-bucket-registry';
import { startMinio } from '../test/integration/services/minio';
import { startMoto } from '../test/integration/services/moto';
import { createRegistryTable, dynamoDb } from '../test/integration/support/aws';
import { createDriftFleet } from '../test/integration/support/drift-fleet';

/**
 * `npm run bench:drift`: a drift check of 1,000 records (static MinIO buckets, MinIO-rotated ones,
 * role buckets in S3, suspended records; see createDriftFleet) against its own moto and MinIO.
 * Prints the wall time of a run and the calls it made per checked bucket, by kind of call.
 */
async function main(): Promise<void> {
  const [moto, minio] = await Promise.all([startMoto(), startMinio()]);
  try {
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_REGION ??= 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID ??= 'testing';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
    const tableName = await createRegistryTable(dynamoDb());
    const registry = new DynamoDbBucketRegistry(tableName);
    const setupStarted = performance.now();
    const fleet = await createDriftFleet(registry, new SecretsManagerClient({}), minio, 1000);
    const setupMs = performance.now() - setupStarted;
    const environment = readEnvironment(DriftEnvironmentSchema, {
      REGISTRY_TABLE_NAME: tableName,
      FENCE_ALLOW_INSECURE_MINIO_HTTP: 'true',
    });
    for (const concurrency of [16, 32]) {
      const calls = new Map<string, number>();
      const count = (name: string, times = 1) => calls.set(name, (calls.get(name) ?? 0) + times);
      const resolver = new AwsSecretsManagerResolver();
      const admin = new AwsSecretsManagerAdministration();
      const kms = new AwsKmsKeys();
      const policies = new AwsSecretResourcePolicies();
      const adminSecrets = new AwsSecretsManagerResolver();
      const runRoles: AssumedRoleCredentials[] = [];
      const drift = wireDriftCheck(environment, {
        registry: {
          list: (options) => {
            count('dynamodb:Scan');
            return registry.list(options);
          },
        },
        backends: {
          aws_sm: {
            read: {
              backend: 'aws_sm',
              get: (ref, version, options) => {
                count('secretsmanager:GetSecretValue');
                return resolver.get(ref, version, options);
              },
              put: (ref, payload) => resolver.put(ref, payload),
            },
            admin: {
              backend: 'aws_sm',
              describe: (ref) => {
                count('secretsmanager:DescribeSecret');
                return admin.describe(ref);
              },
              create: (...args) => admin.create(...args),
              remove: (...args) => admin.remove(...args),
              rotate: (ref) => admin.rotate(ref),
            },
          },
        },
        // One AssumeRole cache per run, as the wiring builds it; its own counter says how often STS was called.
        roles: () => {
          const roles = new AssumedRoleCredentials({ durationSeconds: 900 });
          runRoles.push(roles);
          return roles;
        },
        kms: {
          describe: (key) => {
            count('kms:DescribeKey');
            return kms.describe(key);
          },
        },
        resourcePolicies: {
          get: (ref) => {
            count('secretsmanager:GetResourcePolicy');
            return policies.get(ref);
          },
        },
        probe: (record, credentials, timeoutMs) => {
          count('s3:HeadBucket');
          return probeBucketAccess(record, credentials, { timeoutMs });
        },
        minioAdmin: {
          credentials: (ref) => {
            count('secretsmanager:GetSecretValue (MinIO admin)');
            return adminSecrets.get(ref, 'AWSCURRENT');
          },
          client: (connection) => {
            const client = new MinioAdminClient(connection);
            return {
              listServiceAccounts: (user: string) => {
                count('minio:ListServiceAccounts');
                return client.listServiceAccounts(user);
              },
            };
          },
        },
      });
      const started = performance.now();
      const report = await drift.run({ concurrency, checkTimeoutMs: 20_000 });
      const wallMs = performance.now() - started;
      count(
        'sts:AssumeRole',
        runRoles.reduce((sum, roles) => sum + roles.calls, 0),
      );
      const checked = report.totals.buckets - report.totals.suspended;
      const total = [...calls.values()].reduce((sum, value) => sum + value, 0);
      process.stdout.write(
        `${JSON.stringify({
          bench: 'drift-check',
          buckets: report.totals.buckets,
          mix: fleet.kinds,
          totals: report.totals,
          concurrency,
          wall_ms: Math.round(wallMs),
          fleet_setup_ms: Math.round(setupMs),
          calls: Object.fromEntries([...calls.entries()].sort()),
          calls_per_checked_bucket: Math.round((total / checked) * 100) / 100,
          // Failures beyond the fleet's ten broken records: what they said (none expected).
          unexpected_failures: report.results
            .filter((result) => result.status === 'failed' && !fleet.failing.has(result.bucket))
            .map((result) => ({ bucket: result.bucket, failed: result.checks.filter((check) => !check.ok) })),
        })}\n`,
      );
    }
  } finally {
    await Promise.all([moto.process.stop(), minio.process.stop()]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
