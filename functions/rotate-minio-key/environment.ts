import * as z from 'zod/mini';

/** The rotation function's environment; the CDK construct is typed by the same schema. */
export const RotationEnvironmentSchema = z.object({
  /** Only secrets under this name prefix are rotated. */
  FENCE_SECRETS_PREFIX: z._default(z.string().check(z.minLength(1)), 'gen3/fence/'),
});
export type RotationEnvironment = z.output<typeof RotationEnvironmentSchema>;
