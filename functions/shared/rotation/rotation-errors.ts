/** A rotation step that must not go on; Secrets Manager will retry the whole rotation later. */
export class RotationError extends Error {
  override readonly name: string = 'RotationError';
}

/**
 * finishSecret could not retire the keys it must (MinIO unreachable, admin credential refused):
 * AWSCURRENT is fine, but keys past their grace may still be alive. The step fails, so Secrets
 * Manager reports the rotation as failed and retries it; the retry finishes the retirement.
 */
export class RotationRetirementError extends RotationError {
  override readonly name = 'RotationRetirementError';
}
