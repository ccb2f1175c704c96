import * as z from 'zod/mini';
import { StoreEndpointEnvironment } from '../shared/network/store-endpoint-policy';
import { RotationReaderEnvironment } from '../shared/rotation/rotation-reader-environment';

/**
 * The IAM user key rotation function's environment; the CDK construct is typed by the same
 * schema. The reader settings are the MinIO rotation's (and the presign function's), so one
 * grace rule holds for both.
 */
export const IamRotationEnvironmentSchema = z.object({
  ...RotationReaderEnvironment,
  ROTATED_IAM_USER_PATH: z
    .string()
    .check(
      z.regex(/^\/([\w+=,.@-]+\/)+$/, 'must be an IAM path below the root, such as /gen3-buckets/'),
      z.describe(
        'Only IAM users under this path have their keys rotated (context key `rotatedIamUserPath`); the role may touch no other user.',
      ),
    ),
  /** Where the function's own calls to stores may go (SSRF): `network/store-endpoint-policy.ts`. */
  ...StoreEndpointEnvironment,
});
export type IamRotationEnvironment = z.output<typeof IamRotationEnvironmentSchema>;
