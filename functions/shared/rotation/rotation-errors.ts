/** A rotation step that must not go on; Secrets Manager will retry the whole rotation later. */
export class RotationError extends Error {
  override readonly name = 'RotationError';
}
