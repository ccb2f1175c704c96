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

/**
 * createSecret found the IAM user still holding two access keys (IAM's limit) after retiring
 * every key past its grace: it creates nothing. The message names both keys by their last 4
 * characters; the rotation succeeds once the older key's grace has passed, or an operator
 * deletes the key no one uses.
 */
export class IamUserKeyLimitError extends RotationError {
  override readonly name = 'IamUserKeyLimitError';

  constructor(
    readonly userName: string,
    readonly keyHints: readonly string[],
    reason: string,
  ) {
    super(
      `IAM user ${userName} still has two access keys (${keyHints.join(', ')}): ${reason}; created no new key`,
    );
  }
}
