/**
 * The metrics each drift run publishes (Powertools Metrics, EMF, dimension `service`; the
 * per-check count also `Check`). The handler writes them by these names; the CDK alarm and
 * dashboard read them by the same names.
 */
export const DRIFT_METRICS = {
  runs: 'DriftRuns',
  bucketsPassed: 'DriftBucketsPassed',
  bucketsFailed: 'DriftBucketsFailed',
  bucketsSuspended: 'DriftBucketsSuspended',
  runDuration: 'DriftRunDuration',
  /** Failed checks of one name (dimension `Check`, one of DRIFT_CHECK_NAMES), zeros included. */
  checkFailures: 'DriftCheckFailures',
  checkDimension: 'Check',
} as const;
