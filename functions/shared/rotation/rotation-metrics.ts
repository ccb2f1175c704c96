/**
 * The metrics every rotation function publishes (Powertools Metrics, EMF), each with the
 * dimension `Step` (one of ROTATION_STEPS). The handlers write them by these names; the CDK
 * alarms and dashboard read them by the same names, whichever key store the function rotates.
 */
export const ROTATION_METRICS = {
  stepSucceeded: 'RotationStepSucceeded',
  stepFailed: 'RotationStepFailed',
  /** finishSecret moved AWSCURRENT but could not retire old keys (keys past their grace may live on). */
  retirementFailed: 'RotationRetirementFailed',
  stepDimension: 'Step',
} as const;
