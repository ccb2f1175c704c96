import type { ProofCheck, ProofCheckName } from '../admin/bucket-proof';

/**
 * The checks of a drift run (each name is the stable code of its finding in reports and metrics).
 * `record` is the registry record itself (a malformed one, or a name asked for that is not
 * registered); the proof's five come from `BucketProof`, the same code the admin core's validate
 * runs (`endpoint` only when the store-endpoint policy refuses the record's endpoint: then nothing
 * else is checked); `pin_age` ages a custom-label pin, `key_age` a static AWS key without rotation;
 * `rotation` holds every rotated secret (MinIO, IAM-user key) to its schedule. Reports list checks in the order they ran.
 */
export const DRIFT_CHECK_NAMES = [
  'record',
  'endpoint',
  'secret',
  'secret_pin',
  'secret_shape',
  'bucket_access',
  'pin_age',
  'kms_key',
  'resource_policy',
  'url_lifetime',
  'key_age',
  'rotation',
  'managed_keys',
] as const satisfies readonly ('record' | ProofCheckName | string)[];
export type DriftCheckName = (typeof DRIFT_CHECK_NAMES)[number];

/** One check of one bucket. Messages name refs, fields and key hints (last 4 characters), never values. */
export type DriftCheckResult = ProofCheck<DriftCheckName>;

export type DriftBucketStatus = 'passed' | 'failed' | 'suspended';

/** One bucket's verdict. Suspended buckets are reported, not checked (`checks` is empty). */
export interface DriftBucketResult {
  bucket: string;
  /** The record's id; absent for a record too malformed to have one, or a name not registered. */
  id?: string;
  status: DriftBucketStatus;
  checks: DriftCheckResult[];
}

/** One run: what was checked, when, and each bucket's verdict (the stored report's content). */
export interface DriftReport {
  started_at: string;
  finished_at: string;
  duration_ms: number;
  /** Whether the run covered every record, or only the buckets named. */
  scope: 'all' | 'named';
  totals: Record<DriftBucketStatus, number> & { buckets: number };
  results: DriftBucketResult[];
}

/** Counts of a run's results by status. */
export function driftTotals(results: readonly DriftBucketResult[]): DriftReport['totals'] {
  const totals = { buckets: results.length, passed: 0, failed: 0, suspended: 0 };
  for (const result of results) totals[result.status]++;
  return totals;
}

/** Failed checks per check name over a run (for metrics: one count per check, zeros included). */
export function failuresByCheck(results: readonly DriftBucketResult[]): Record<DriftCheckName, number> {
  const counts = Object.fromEntries(DRIFT_CHECK_NAMES.map((name) => [name, 0])) as Record<
    DriftCheckName,
    number
  >;
  for (const result of results) {
    for (const check of result.checks) if (!check.ok) counts[check.name]++;
  }
  return counts;
}
