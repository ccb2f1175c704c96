import { ADMIN_SECRET, FENCE_ROLE, REGISTRY_SYNC_CONTEXT, synthesize } from './synthesized-stack';

/*
 * Found by running the deployed bundles (npm run test:deployed): the admin function wrote Fence
 * DB first but had no RDS certificate authorities, so every admin call failed TLS verification.
 */
describe('Stack: functions that connect to Fence DB', () => {
  it('get TLS verification and the RDS certificate authorities, each of them', () => {
    // Prepare
    const { json } = synthesize({
      ...REGISTRY_SYNC_CONTEXT,
      fenceRoleArns: FENCE_ROLE,
      adminRoleArns: 'arn:aws:iam::123456789012:role/broker-admin',
      minioAdminSecretArns: ADMIN_SECRET,
    });

    // Act
    const reaching = Object.entries(json.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .map(([logicalId, resource]) => ({
        logicalId,
        variables: ((resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
          ?.Variables ?? {}) as Record<string, unknown>,
      }))
      .filter(({ variables }) => variables.FENCE_DB_SECRET_ARN !== undefined);

    // Assess: the sync and the admin function (which writes Fence DB first).
    expect(reaching.map(({ logicalId }) => logicalId.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'AdminFunction',
      'RegistrySyncFunction',
    ]);
    for (const { variables } of reaching) {
      expect(variables.FENCE_DB_SSL).toBe('verify');
      expect(variables.NODE_EXTRA_CA_CERTS).toBe('/var/runtime/ca-cert.pem');
    }
  });
});
