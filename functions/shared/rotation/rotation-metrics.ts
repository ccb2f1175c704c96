import { RotationRetirementError } from './rotation-errors';

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

/** Where a rotation function's step outcome goes: its metrics and its error log (Powertools in the handlers). */
export interface RotationStepReporting {
  /** Sets the `Step` dimension for this invocation's metrics. */
  step: (step: string) => void;
  /** Counts one of ROTATION_METRICS' metrics. */
  count: (metric: (typeof ROTATION_METRICS)[keyof typeof ROTATION_METRICS]) => void;
  /** Logs a failed step (never a secret value: the error's name and message only). */
  failed: (entry: { step: string; error: string }) => void;
}

/**
 * Runs one step of a rotation and reports it the same way for every rotation function: the step
 * as a dimension, success or failure counted, a failed retirement counted on its own (keys past
 * their grace may still be alive until a retry finishes it), and the error rethrown, since
 * Secrets Manager retries the whole rotation.
 */
export async function runReportedRotationStep(
  event: unknown,
  run: () => Promise<void>,
  report: RotationStepReporting,
): Promise<void> {
  const step =
    typeof event === 'object' && event !== null ? String((event as { Step?: unknown }).Step) : 'unknown';
  report.step(step.slice(0, 32));
  try {
    await run();
    report.count(ROTATION_METRICS.stepSucceeded);
  } catch (error) {
    report.count(ROTATION_METRICS.stepFailed);
    if (error instanceof RotationRetirementError) report.count(ROTATION_METRICS.retirementFailed);
    report.failed({ step, error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown' });
    throw error;
  }
}
