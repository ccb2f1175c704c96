import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { DRIFT_METRICS } from '../../../functions/drift-check/drift-metrics';
import {
  PRESIGN_METRICS,
  presignErrorMetric,
  SERVER_ERROR_CODES,
} from '../../../functions/presign/presign-metrics';
import { DRIFT_CHECK_NAMES } from '../../../functions/shared/drift/drift-results';
import { ERROR_CODES } from '../../../functions/shared/errors';
import { ROTATION_METRICS } from '../../../functions/shared/rotation/rotation-metrics';
import { SYNC_METRICS } from '../../../functions/sync-registry/sync-metrics';
import type { FenceBucketBrokerStack } from '../../../lib/stacks/fence-bucket-broker-stack';
import { ADMIN_SECRET, REGISTRY_SYNC_CONTEXT, synthesize } from '../synthesized-stack';

type Resource = { Type: string; Properties: Record<string, unknown> };
type AlarmMetric = {
  Id: string;
  Expression?: string;
  MetricStat?: {
    Metric: { MetricName: string; Namespace: string; Dimensions: { Name: string; Value: unknown }[] };
    Stat: string;
  };
};

/** Every alarm of the template by its friendly part (`FenceBucketBroker-<group>-<name>-<level>`). */
function alarms(template: Template): Record<string, Record<string, unknown> & { Metrics: AlarmMetric[] }> {
  return Object.fromEntries(
    Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map(
      (alarm) => [
        String(alarm.Properties.AlarmName).replace(/^FenceBucketBroker-/, ''),
        alarm.Properties as Record<string, unknown> & { Metrics: AlarmMetric[] },
      ],
    ),
  );
}

const metricNames = (alarm: { Metrics: AlarmMetric[] } | undefined) =>
  (alarm?.Metrics ?? []).flatMap((entry) =>
    entry.MetricStat === undefined ? [] : [entry.MetricStat.Metric.MetricName],
  );

describe('Construct: BrokerMonitoring', () => {
  let stack: FenceBucketBrokerStack;
  let template: Template;
  let byName: ReturnType<typeof alarms>;

  beforeAll(() => {
    ({ stack, template } = synthesize({
      minioAdminSecretArns: ADMIN_SECRET,
      alarmEmails: 'ops@example.org',
    }));
    byName = alarms(template);
  });

  it('sends every alarm to one SNS topic, encrypted with a rotating key CloudWatch may use, TLS only', () => {
    // Assess
    const topic = stack.resolve(stack.monitoring.topic.topicArn);
    expect(Object.keys(byName).length).toBeGreaterThanOrEqual(9);
    for (const alarm of Object.values(byName)) {
      expect(alarm).toMatchObject({ ActionsEnabled: true, AlarmActions: [topic] });
    }
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.org',
    });
  });

  it('alarms on drift failures (the verdict stands between nightly runs) and on a failed drift run', () => {
    expect(byName['Drift-DriftBucketsFailed-Critical']).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
    });
    expect(byName['Drift-DriftBucketsFailed-Critical']?.Metrics[0]?.MetricStat).toMatchObject({
      Metric: {
        Namespace: 'FenceBucketBroker',
        MetricName: DRIFT_METRICS.bucketsFailed,
        Dimensions: [{ Name: 'service', Value: 'fence-bucket-broker' }],
      },
      Stat: 'Maximum',
    });
    expect(metricNames(byName['DriftCheckFunction-Fault-Count-Critical'])).toEqual(['Errors']);
  });

  it("alarms on the rotation function's RotationStepFailed of any step and RotationRetirementFailed", () => {
    // Assess
    const failed = byName['Rotation-RotationStepFailed-Critical'];
    expect(failed?.Metrics.find((entry) => entry.Expression !== undefined)?.Expression).toBe(
      'FILL(failed0, 0) + FILL(failed1, 0) + FILL(failed2, 0) + FILL(failed3, 0)',
    );
    expect(
      failed?.Metrics.flatMap((entry) =>
        entry.MetricStat === undefined
          ? []
          : [
              [
                entry.MetricStat.Metric.MetricName,
                entry.MetricStat.Metric.Dimensions.find((d) => d.Name === 'Step')?.Value,
              ],
            ],
      ),
    ).toEqual([
      [ROTATION_METRICS.stepFailed, 'createSecret'],
      [ROTATION_METRICS.stepFailed, 'setSecret'],
      [ROTATION_METRICS.stepFailed, 'testSecret'],
      [ROTATION_METRICS.stepFailed, 'finishSecret'],
    ]);
    expect(metricNames(byName['Rotation-RotationRetirementFailed-Critical'])).toEqual([
      ROTATION_METRICS.retirementFailed,
    ]);
    expect(byName['RotationFunction-Throttled-Count-Critical']).toBeDefined();
  });

  it('alarms on the presign 5xx rate over the 5xx codes, p99 latency, and throttles', () => {
    // Assess
    const rate = byName['Presign-PresignServerErrorRate-Critical'];
    expect(rate).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(metricNames(rate).sort()).toEqual(
      [PRESIGN_METRICS.presigned, ...SERVER_ERROR_CODES.map((code) => presignErrorMetric(code))].sort(),
    );
    expect(byName['Presign-PresignLatencyP99-Critical']).toMatchObject({ Threshold: 1000 });
    expect(byName['Presign-PresignLatencyP99-Critical']?.Metrics[0]?.MetricStat).toMatchObject({
      Metric: { MetricName: PRESIGN_METRICS.latency },
      Stat: 'p99',
    });
    expect(metricNames(byName['PresignFunction-Throttled-Count-Critical'])).toEqual(['Throttles']);
    expect(metricNames(byName['Presign-PresignBackendThrottled-Warning'])).toEqual([
      presignErrorMetric('throttled'),
    ]);
  });

  it('builds one dashboard naming every metric the functions publish', () => {
    // Act
    const dashboards = Object.values(
      template.findResources('AWS::CloudWatch::Dashboard') as Record<string, Resource>,
    );
    const body = JSON.stringify(stack.resolve(dashboards[0]?.Properties.DashboardBody));

    // Assess
    expect(dashboards).toHaveLength(1);
    const wanted = [
      ...Object.values(PRESIGN_METRICS),
      ...ERROR_CODES.map((code) => presignErrorMetric(code)),
      ROTATION_METRICS.stepSucceeded,
      ROTATION_METRICS.stepFailed,
      ROTATION_METRICS.retirementFailed,
      DRIFT_METRICS.bucketsFailed,
      DRIFT_METRICS.bucketsPassed,
      DRIFT_METRICS.checkFailures,
      ...DRIFT_CHECK_NAMES,
      'p50',
      'p90',
      'p99',
    ];
    expect(wanted.filter((name) => !body.includes(`\\"${name}\\"`))).toEqual([]);
  });

  it('writes alarm names and descriptions as fixed text: no runtime value (and so no secret) reaches a notification', () => {
    for (const [name, alarm] of Object.entries(byName)) {
      expect([name, typeof alarm.AlarmName, typeof alarm.AlarmDescription]).toEqual([
        name,
        'string',
        'string',
      ]);
    }
  });

  it('leaves the rotation alarms out when no rotation function is deployed', () => {
    const names = Object.keys(alarms(synthesize().template));
    expect(names.filter((name) => name.startsWith('Rotation'))).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining([
        'Drift-DriftBucketsFailed-Critical',
        'Presign-PresignServerErrorRate-Critical',
      ]),
    );
  });

  it('alarms on any failed sync record, held-back deletes, a failed sync run, and on any delete the sync makes', () => {
    // Act
    const { stack: withSync, template: synced } = synthesize(REGISTRY_SYNC_CONTEXT);
    const sync = alarms(synced);
    const topic = withSync.resolve(withSync.monitoring.topic.topicArn);

    // Assess
    const expected = {
      'RegistrySync-RegistrySyncFailed-Critical': SYNC_METRICS.failed,
      'RegistrySync-RegistrySyncDeletesHeldBack-Critical': SYNC_METRICS.deletesHeldBack,
      'RegistrySync-RegistrySyncDeleted-Warning': SYNC_METRICS.deleted,
      'RegistrySyncFunction-Fault-Count-Critical': 'Errors',
    };
    for (const [name, metricName] of Object.entries(expected)) {
      expect([name, metricNames(sync[name])]).toEqual([name, [metricName]]);
      expect(sync[name]).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [topic],
      });
    }
    expect(sync['RegistrySync-RegistrySyncFailed-Critical']?.Metrics[0]?.MetricStat).toMatchObject({
      Metric: {
        Namespace: 'FenceBucketBroker',
        Dimensions: [{ Name: 'service', Value: 'fence-bucket-broker' }],
      },
      Stat: 'Sum',
    });
    expect(Object.keys(byName).filter((name) => name.startsWith('RegistrySync'))).toEqual([]);
  });
});
