/**
 * The metrics each sync run publishes (Powertools Metrics, EMF, dimension `service`). The handler
 * writes them by these names; the CDK alarms read them by the same names.
 */
export const SYNC_METRICS = {
  inserted: 'RegistrySyncInserted',
  updated: 'RegistrySyncUpdated',
  deleted: 'RegistrySyncDeleted',
  /** Records the run could not bring in line, policy refusals and held-back deletes included. */
  failed: 'RegistrySyncFailed',
  /** Rows refused for breaking the record policy (`registry/record-policy.ts`). */
  policyRefused: 'RegistrySyncPolicyRefused',
  /** Deletes the delete cap held back (the run deleted nothing). */
  deletesHeldBack: 'RegistrySyncDeletesHeldBack',
  /** A run that could not reach Fence DB or the table at all. */
  runFailed: 'RegistrySyncRunFailed',
} as const;
