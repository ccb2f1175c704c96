import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AuditLog } from '../../../functions/presign/audit-log';
import type { PresignAuditLine } from '../../../functions/presign/presign-api';
import {
  PRESIGN_METRICS,
  presignErrorMetric,
  SERVER_ERROR_CODES,
} from '../../../functions/presign/presign-metrics';
import { presignTelemetry } from '../../../functions/presign/telemetry';
import { SecretResolvers } from '../../../functions/shared/backends/backend-registry';
import * as errors from '../../../functions/shared/errors';
import { CachedBucketLookup } from '../../../functions/shared/registry/cached-bucket-lookup';

const line = (overrides: Partial<PresignAuditLine> = {}): PresignAuditLine => ({
  request_id: 'r-1',
  route: 'presign',
  bucket: 'dataset',
  operation: 'GET',
  caller: 'arn:aws:sts::123456789012:assumed-role/fence/pod',
  audit_user: 'alice',
  purpose: 'download',
  secret_ref: 'gen3/fence/minio/dataset',
  outcome: 'ok',
  status: 200,
  latency_ms: 0.05,
  ...overrides,
});

describe('Class: AuditLog', () => {
  it('writes one JSON line in the Powertools shape with the request and trace ids', () => {
    const written: string[] = [];
    const audit = new AuditLog('fence-bucket-broker', (text) => written.push(text));
    audit.startInvocation(
      'aws-request-1',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    );
    audit.record(line());
    expect(written).toHaveLength(1);
    expect(written[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(written[0] ?? '')).toMatchObject({
      level: 'INFO',
      message: 'presign',
      service: 'fence-bucket-broker',
      function_request_id: 'aws-request-1',
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      bucket: 'dataset',
      secret_ref: 'gen3/fence/minio/dataset',
    });
  });
});

describe('Function: presignTelemetry', () => {
  function setup(sampleRate: number, interval: number) {
    let now = 0;
    const audited: PresignAuditLine[] = [];
    const published: string[] = [];
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
      published.push('publish');
      return metrics;
    });
    const telemetry = presignTelemetry({
      logger: new Logger(),
      audit: { record: (entry) => audited.push(entry) },
      metrics: async () => metrics,
      secrets: new SecretResolvers(new Map()),
      lookup: new CachedBucketLookup({ getByName: async () => undefined }),
      sampleRate,
      metricsIntervalMs: interval,
      clock: () => now,
    });
    return { telemetry, audited, published, advance: (ms: number) => (now += ms) };
  }

  it('publishes metrics once per interval, not per invocation', async () => {
    const { telemetry, published, advance } = setup(1, 10_000);
    for (let index = 0; index < 500; index++) {
      telemetry.record(line());
      await telemetry.endInvocation();
    }
    expect(published).toHaveLength(0);
    advance(10_000);
    await telemetry.endInvocation();
    expect(published).toHaveLength(1);
  });

  it('samples audit lines of successes but always keeps failures', () => {
    const { telemetry, audited } = setup(0, 0);
    telemetry.record(line());
    telemetry.record(line({ outcome: 'bucket_suspended', status: 409 }));
    expect(audited.map((entry) => entry.outcome)).toEqual(['bucket_suspended']);
  });

  it('publishes by the names PRESIGN_METRICS states: counts, errors, GetSecretValue and AssumeRole calls', async () => {
    // Prepare
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const added: [string, number][] = [];
    jest.spyOn(metrics, 'addMetric').mockImplementation((name, _unit, value) => {
      added.push([name, value]);
      return metrics;
    });
    jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
    const roles = { calls: 0 };
    const secrets = new SecretResolvers(new Map());
    jest.spyOn(secrets, 'stats').mockReturnValue({
      hits: 7,
      misses: 3,
      loads: 2,
      staleServes: 0,
      errors: 0,
      size: 2,
    });
    const telemetry = presignTelemetry({
      logger: new Logger(),
      audit: { record: () => undefined },
      metrics: async () => metrics,
      secrets,
      lookup: new CachedBucketLookup({ getByName: async () => undefined }),
      roles,
      sampleRate: 1,
    });

    // Act
    telemetry.record(line());
    telemetry.record(line({ outcome: 'store_unavailable', status: 503 }));
    roles.calls = 4;
    await telemetry.endInvocation();

    // Assess
    const byName = Object.fromEntries(added);
    expect(byName).toMatchObject({
      [PRESIGN_METRICS.presigned]: 1,
      [presignErrorMetric('store_unavailable')]: 1,
      [PRESIGN_METRICS.secretLoads]: 2,
      [PRESIGN_METRICS.secretCacheHits]: 7,
      [PRESIGN_METRICS.assumeRoleCalls]: 4,
      [PRESIGN_METRICS.latency]: 0.05,
    });
  });
});

describe('Constant: SERVER_ERROR_CODES', () => {
  it('holds exactly the codes errors.ts answers with a 5xx status', () => {
    // Prepare: one instance of every error class (their constructors take strings only).
    const classes = (Object.values(errors) as unknown[]).filter(
      (value): value is new (...args: string[]) => errors.BrokerError =>
        typeof value === 'function' && value.prototype instanceof errors.BrokerError,
    );

    // Act
    const serverCodes = new Set(
      classes
        .map((Class) => new Class('a', 'b', 'c'))
        .filter((error) => error.status >= 500)
        .map((error) => error.code),
    );

    // Assess
    expect(classes.length).toBeGreaterThan(15);
    expect([...serverCodes].sort()).toEqual([...SERVER_ERROR_CODES].sort());
  });
});
