import { wireBucketAdmin } from '../admin/admin-wiring';
import { AdminEnvironmentSchema } from '../admin/environment';
import type { AdminAuditLine } from '../shared/admin/bucket-admin';
import { adminSecretsBackend } from '../shared/backends/admin-backend-registry';
import { readEnvironment } from '../shared/config/environment';
import { FenceConfigMigration, type MigrationAuditLine } from '../shared/migration/fence-config-migration';
import type { SecretsBackend } from '../shared/registry/bucket-record';
import { AwsIamKeyDirectory } from '../shared/rotation/iam-key-directory';
import { IamRotationEnrollment, type IamRotationSettings } from '../shared/rotation/iam-rotation-enrollment';
import { callerIdentity } from './admin-operations';

/**
 * The migration in this process, over the same admin core as `register` (so records go wherever
 * the admin core writes them), with the operator's AWS credentials. `backend` receives the keys;
 * it becomes the only backend of this run.
 */
export async function inProcessMigration(
  env: NodeJS.ProcessEnv,
  options: {
    backend?: SecretsBackend;
    audit: (line: AdminAuditLine | MigrationAuditLine) => void;
    caller?: () => Promise<string>;
    /** `--enable-rotation`: IAM-user-key rotation for each moved AWS credential. */
    rotation?: IamRotationSettings;
  },
): Promise<FenceConfigMigration> {
  const settings = { ...env };
  if (options.backend !== undefined) settings.FENCE_SECRETS_BACKEND = options.backend;
  const environment = readEnvironment(AdminEnvironmentSchema, settings);
  const backendName = environment.FENCE_SECRETS_BACKEND[0] ?? 'aws_sm';
  const backend = adminSecretsBackend(backendName, environment);
  const admin = wireBucketAdmin(
    { ...environment, FENCE_SECRETS_BACKEND: [backendName] },
    { audit: options.audit, backends: { [backendName]: backend } },
  );
  const caller = await (options.caller ?? callerIdentity)().catch(() => `cli:${env.USER ?? 'unknown'}`);
  return new FenceConfigMigration({
    admin,
    secrets: backend,
    secretsPrefix: environment.FENCE_SECRETS_PREFIX,
    caller,
    ...(environment.FENCE_SECRETS_KMS_KEY_ID === undefined
      ? {}
      : { kmsKeyId: environment.FENCE_SECRETS_KMS_KEY_ID }),
    audit: options.audit,
    ...(options.rotation === undefined
      ? {}
      : {
          rotation: new IamRotationEnrollment({
            directory: new AwsIamKeyDirectory(),
            secrets: backend.admin,
            settings: options.rotation,
          }),
        }),
  });
}
