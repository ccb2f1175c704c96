import {
  PRESIGN_CALL_BUDGETS_MS,
  PRESIGN_FUNCTION_TIMEOUT_SECONDS,
  PRESIGN_RESPONSE_MARGIN_MS,
  presignDeadline,
} from '../../../functions/presign/budgets';

describe('Budgets: presign function', () => {
  it('fits the worst case of every outbound call, one after another, and the answer inside the timeout', () => {
    // Prepare: a request makes at most one call of each kind, in sequence (registry, then secrets
    // or STS, then the store); counting both credential sources over-counts, on purpose.
    const worstCaseMs =
      PRESIGN_CALL_BUDGETS_MS.registry +
      PRESIGN_CALL_BUDGETS_MS.secrets +
      PRESIGN_CALL_BUDGETS_MS.sts +
      PRESIGN_CALL_BUDGETS_MS.store +
      PRESIGN_RESPONSE_MARGIN_MS;

    // Assess
    expect(worstCaseMs).toBeLessThanOrEqual(PRESIGN_FUNCTION_TIMEOUT_SECONDS * 1000);
    // API Gateway's REST integration gives up at 29 s: the function must answer first.
    expect(PRESIGN_FUNCTION_TIMEOUT_SECONDS).toBeLessThan(29);
  });

  it('puts the deadline one answer margin before the invocation runs out', () => {
    expect(presignDeadline(4000, 1_000_000)).toBe(1_000_000 + 4000 - PRESIGN_RESPONSE_MARGIN_MS);
    expect(presignDeadline(undefined, 0)).toBe(
      PRESIGN_FUNCTION_TIMEOUT_SECONDS * 1000 - PRESIGN_RESPONSE_MARGIN_MS,
    );
  });
});
