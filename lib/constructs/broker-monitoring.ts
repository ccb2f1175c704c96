import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import {
  type CustomMetricGroup,
  DefaultDashboardFactory,
  GraphWidgetType,
  MonitoringFacade,
  SnsAlarmActionStrategy,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { DRIFT_METRICS } from '../../functions/drift-check/drift-metrics';
import {
  PRESIGN_METRICS,
  presignErrorMetric,
  SERVER_ERROR_CODES,
} from '../../functions/presign/presign-metrics';
import { DRIFT_CHECK_NAMES } from '../../functions/shared/drift/drift-results';
import { ERROR_CODES } from '../../functions/shared/errors';
import { ROTATION_STEPS } from '../../functions/shared/rotation/minio-key-rotation';
import { ROTATION_METRICS } from '../../functions/shared/rotation/rotation-metrics';
import { SYNC_METRICS } from '../../functions/sync-registry/sync-metrics';
import { BROKER_METRICS } from './broker-function';

export interface BrokerMonitoringProps {
  readonly presignFunction: lambda.IFunction;
  readonly driftCheckFunction: lambda.IFunction;
  /** The MinIO rotation function, when deployed: its alarms and graphs are added. @default none */
  readonly rotationFunction?: lambda.IFunction;
  /**
   * The IAM user-key rotation function, when deployed. It publishes the same rotation metrics as
   * the MinIO one, so the step and retirement alarms cover both; it gets its own throttle alarm.
   * @default none
   */
  readonly iamKeyRotationFunction?: lambda.IFunction;
  /** The registry sync function, when deployed: its alarms and graphs are added. @default none */
  readonly syncFunction?: lambda.IFunction;
  /** E-mail addresses subscribed to the alarm topic (each confirms by mail). @default none */
  readonly alarmEmails?: string[];
  /** Alarm when this share of presign requests (in %) fails with a 5xx, over 5-minute periods. @default 1 */
  readonly presignServerErrorPercent?: number;
  /** Alarm when the presign p99 latency exceeds this. @default Duration.seconds(1) */
  readonly presignP99Latency?: Duration;
  /** @default the stack name */
  readonly dashboardName?: string;
}

const PERIOD = Duration.minutes(5);

/**
 * The service's alarms, their topic and its one dashboard, through cdk-monitoring-constructs:
 * drift failures, rotation failures, presign 5xx rate, p99 latency and throttles alarm to an
 * encrypted SNS topic that operators subscribe to; the dashboard shows presign rate, latency
 * percentiles, errors by code, cache hit ratios, AssumeRole and GetSecretValue calls, rotation
 * outcomes and drift failures. Every metric is named by the constant its function publishes
 * it by, so a graph cannot show a metric nobody writes. Alarm texts are fixed at synth: no
 * runtime value (and so no secret) can reach a notification.
 */
export class BrokerMonitoring extends Construct {
  readonly topic: sns.Topic;
  readonly facade: MonitoringFacade;

  constructor(scope: Construct, id: string, props: BrokerMonitoringProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    // CloudWatch cannot use the AWS-managed SNS key: a key of our own lets it publish.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the fence-bucket-broker alarm topic',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'fence-bucket-broker alarms',
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOnly',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    for (const email of props.alarmEmails ?? [])
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    this.facade = new MonitoringFacade(this, 'Monitoring', {
      metricFactoryDefaults: { namespace: BROKER_METRICS.namespace, period: PERIOD },
      alarmFactoryDefaults: {
        alarmNamePrefix: stackName,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: this.topic }),
        datapointsToAlarm: 1,
        evaluationPeriods: 1,
      },
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: props.dashboardName ?? stackName,
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });

    this.facade.addLargeHeader('fence-bucket-broker');
    this.monitorPresign(props);
    const rotationFunctions: [lambda.IFunction | undefined, string, string][] = [
      [props.rotationFunction, 'RotationFunction', 'Rotation function (MinIO keys)'],
      [props.iamKeyRotationFunction, 'IamKeyRotationFunction', 'Rotation function (IAM user keys)'],
    ];
    const deployedRotations = rotationFunctions.filter(
      (entry): entry is [lambda.IFunction, string, string] => entry[0] !== undefined,
    );
    if (deployedRotations.length > 0) this.monitorRotation(deployedRotations);
    this.monitorDrift(props.driftCheckFunction);
    if (props.syncFunction !== undefined) this.monitorSync(props.syncFunction);
  }

  private monitorPresign(props: BrokerMonitoringProps): void {
    const count = (name: string, label = name) => metric(name, 'Sum', label);
    const serverErrors = Object.fromEntries(
      SERVER_ERROR_CODES.map((code, index) => [`e${index}`, count(presignErrorMetric(code))]),
    );
    const errorSum = Object.keys(serverErrors)
      .map((name) => `FILL(${name}, 0)`)
      .join(' + ');
    const serverErrorPercent = new cloudwatch.MathExpression({
      label: 'presign 5xx (%)',
      expression: `100 * (${errorSum}) / (FILL(ok, 0) + ${errorSum})`,
      usingMetrics: { ok: count(PRESIGN_METRICS.presigned), ...serverErrors },
      period: PERIOD,
    });
    // Metric ids must differ between the expressions of one graph.
    const ratio = (id: string, label: string, hits: string, misses: string) =>
      new cloudwatch.MathExpression({
        label,
        expression: `100 * ${id}Hits / (${id}Hits + ${id}Misses)`,
        usingMetrics: { [`${id}Hits`]: count(hits), [`${id}Misses`]: count(misses) },
        period: PERIOD,
      });
    const groups: CustomMetricGroup[] = [
      {
        title: 'Presign rate (URLs signed)',
        metrics: [count(PRESIGN_METRICS.presigned, 'URLs signed')],
      },
      {
        title: 'Presign latency (ms, sampled)',
        metrics: [
          metric(PRESIGN_METRICS.latency, 'p50', 'p50'),
          metric(PRESIGN_METRICS.latency, 'p90', 'p90'),
          {
            metric: metric(PRESIGN_METRICS.latency, 'p99', 'p99'),
            alarmFriendlyName: 'PresignLatencyP99',
            addAlarm: {
              Critical: {
                threshold: (props.presignP99Latency ?? Duration.seconds(1)).toMilliseconds(),
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluationPeriods: 3,
                datapointsToAlarm: 2,
                treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
                additionalDescription: 'The presign p99 latency is high: backends slow, or caches missing.',
              },
            },
          },
          metric(PRESIGN_METRICS.latency, 'Maximum', 'max'),
        ],
      },
      {
        title: 'Presign 5xx rate (%)',
        metrics: [
          {
            metric: serverErrorPercent,
            alarmFriendlyName: 'PresignServerErrorRate',
            addAlarm: {
              Critical: {
                threshold: props.presignServerErrorPercent ?? 1,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluationPeriods: 3,
                datapointsToAlarm: 2,
                treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
                additionalDescription:
                  'Presign requests fail with 5xx: see the errors-by-code graph and the audit lines.',
              },
            },
          },
        ],
      },
      {
        title: 'Presign errors by code',
        graphWidgetType: GraphWidgetType.STACKED_AREA,
        metrics: ERROR_CODES.map((code) => count(presignErrorMetric(code), code)),
      },
      {
        title: 'Cache hit ratio (%)',
        metrics: [
          ratio(
            'secret',
            'credentials cache',
            PRESIGN_METRICS.secretCacheHits,
            PRESIGN_METRICS.secretCacheMisses,
          ),
          ratio(
            'registry',
            'registry cache',
            PRESIGN_METRICS.registryCacheHits,
            PRESIGN_METRICS.registryCacheMisses,
          ),
        ],
      },
      {
        title: 'Backend calls (AssumeRole, GetSecretValue) and stale serves',
        metrics: [
          count(PRESIGN_METRICS.assumeRoleCalls, 'AssumeRole'),
          count(PRESIGN_METRICS.secretLoads, 'GetSecretValue'),
          count(PRESIGN_METRICS.secretStaleServes, 'stale serves'),
        ],
      },
      {
        title: 'Backends throttling us (429 throttled)',
        metrics: [
          {
            metric: count(presignErrorMetric('throttled'), 'throttled'),
            alarmFriendlyName: 'PresignBackendThrottled',
            addAlarm: {
              Warning: {
                threshold: 0,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
                additionalDescription:
                  'Secrets Manager, STS, DynamoDB or a store throttled presign requests.',
              },
            },
          },
        ],
      },
    ];
    this.facade.monitorCustom({
      alarmFriendlyName: 'Presign',
      humanReadableName: 'Presign API',
      metricGroups: groups,
    });
    this.facade.monitorLambdaFunction({
      lambdaFunction: props.presignFunction,
      alarmFriendlyName: 'PresignFunction',
      humanReadableName: 'Presign function',
      addThrottlesCountAlarm: {
        Critical: { maxErrorCount: 0, treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING },
      },
    });
  }

  /**
   * One set of step and retirement alarms for every rotation function (they publish the same
   * metrics, without a function dimension), and one throttle alarm per function.
   */
  private monitorRotation(rotationFunctions: readonly [lambda.IFunction, string, string][]): void {
    const byStep = (name: string, step: string) =>
      new cloudwatch.Metric({
        namespace: BROKER_METRICS.namespace,
        metricName: name,
        dimensionsMap: { service: BROKER_METRICS.service, [ROTATION_METRICS.stepDimension]: step },
        statistic: 'Sum',
        period: Duration.hours(1),
        label: `${name} ${step}`,
      });
    // Summed over the steps; metric ids must differ between the expressions of one graph.
    const summed = (id: string, name: string, label: string) =>
      new cloudwatch.MathExpression({
        label,
        expression: ROTATION_STEPS.map((_, index) => `FILL(${id}${index}, 0)`).join(' + '),
        usingMetrics: Object.fromEntries(
          ROTATION_STEPS.map((step, index) => [`${id}${index}`, byStep(name, step)]),
        ),
        period: Duration.hours(1),
      });
    const rotationAlarm = (description: string) => ({
      Critical: {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
        additionalDescription: description,
      },
    });
    this.facade.monitorCustom({
      alarmFriendlyName: 'Rotation',
      humanReadableName: 'Key rotation (MinIO, IAM user keys)',
      metricGroups: [
        {
          title: 'Rotation outcomes (steps per hour)',
          metrics: [
            summed('ok', ROTATION_METRICS.stepSucceeded, 'steps succeeded'),
            {
              metric: summed('failed', ROTATION_METRICS.stepFailed, 'steps failed'),
              alarmFriendlyName: 'RotationStepFailed',
              addAlarm: rotationAlarm(
                'A rotation step failed; AWSCURRENT still works. See the runbook "When a rotation fails".',
              ),
            },
            {
              metric: byStep(ROTATION_METRICS.retirementFailed, 'finishSecret'),
              alarmFriendlyName: 'RotationRetirementFailed',
              addAlarm: rotationAlarm(
                'finishSecret moved AWSCURRENT but could not retire old keys; the retry finishes it.',
              ),
            },
          ],
        },
      ],
    });
    for (const [lambdaFunction, alarmFriendlyName, humanReadableName] of rotationFunctions) {
      this.facade.monitorLambdaFunction({
        lambdaFunction,
        alarmFriendlyName,
        humanReadableName,
        addThrottlesCountAlarm: {
          Critical: { maxErrorCount: 0, treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING },
        },
      });
    }
  }

  private monitorDrift(driftCheckFunction: lambda.IFunction): void {
    const hourly = (name: string, label: string, dimensions: Record<string, string> = {}) =>
      new cloudwatch.Metric({
        namespace: BROKER_METRICS.namespace,
        metricName: name,
        dimensionsMap: { service: BROKER_METRICS.service, ...dimensions },
        statistic: 'Maximum',
        period: Duration.hours(1),
        label,
      });
    this.facade.monitorCustom({
      alarmFriendlyName: 'Drift',
      humanReadableName: 'Drift check',
      metricGroups: [
        {
          title: 'Drift check: buckets per run',
          metrics: [
            {
              metric: hourly(DRIFT_METRICS.bucketsFailed, 'failed'),
              alarmFriendlyName: 'DriftBucketsFailed',
              addAlarm: {
                Critical: {
                  threshold: 0,
                  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                  // A run reports once a night: the verdict stands until the next run.
                  treatMissingDataOverride: cloudwatch.TreatMissingData.IGNORE,
                  additionalDescription:
                    'Buckets failed the drift check: fence-buckets drift-check --last --report-bucket <DriftReportBucketName> lists them with reasons.',
                },
              },
            },
            hourly(DRIFT_METRICS.bucketsPassed, 'passed'),
            hourly(DRIFT_METRICS.bucketsSuspended, 'suspended'),
          ],
        },
        {
          title: 'Drift check: failures by check',
          graphWidgetType: GraphWidgetType.STACKED_AREA,
          metrics: DRIFT_CHECK_NAMES.map((check) =>
            hourly(DRIFT_METRICS.checkFailures, check, { [DRIFT_METRICS.checkDimension]: check }),
          ),
        },
      ],
    });
    this.facade.monitorLambdaFunction({
      lambdaFunction: driftCheckFunction,
      alarmFriendlyName: 'DriftCheckFunction',
      humanReadableName: 'Drift-check function',
      addFaultCountAlarm: {
        Critical: { maxErrorCount: 0, treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING },
      },
    });
  }

  /**
   * The registry sync runs every few minutes and is how Fence DB reaches the presign path: any
   * failed record (a row the record policy refused, a delete held back by the delete cap, a
   * write that failed), any failed run, and any delete at all alarm. A delete takes a bucket
   * offline, and Fence DB is written by more hands than the broker's admins.
   */
  private monitorSync(syncFunction: lambda.IFunction): void {
    const alarm = (severity: 'Critical' | 'Warning', description: string) => ({
      [severity]: {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
        additionalDescription: description,
      },
    });
    this.facade.monitorCustom({
      alarmFriendlyName: 'RegistrySync',
      humanReadableName: 'Registry sync (Fence DB → registry table)',
      metricGroups: [
        {
          title: 'Registry sync: records per 5 minutes',
          metrics: [
            metric(SYNC_METRICS.inserted, 'Sum', 'inserted'),
            metric(SYNC_METRICS.updated, 'Sum', 'updated'),
            {
              metric: metric(SYNC_METRICS.deleted, 'Sum', 'deleted'),
              alarmFriendlyName: 'RegistrySyncDeleted',
              addAlarm: alarm(
                'Warning',
                'The sync deleted buckets from the registry table because Fence DB no longer has them (or their rows now name a secret the broker must not use): check that this was intended.',
              ),
            },
            {
              metric: metric(SYNC_METRICS.failed, 'Sum', 'failed'),
              alarmFriendlyName: 'RegistrySyncFailed',
              addAlarm: alarm(
                'Critical',
                'Records failed the registry sync (Fence DB rows that break the record policy, deletes held back by the delete cap, failed writes): fence-buckets sync --dry-run lists them with codes.',
              ),
            },
            {
              metric: metric(SYNC_METRICS.deletesHeldBack, 'Sum', 'deletes held back'),
              alarmFriendlyName: 'RegistrySyncDeletesHeldBack',
              addAlarm: alarm(
                'Critical',
                'The sync would have deleted more of the registry than its delete cap allows and deleted nothing: is Fence DB emptied or restored? fence-buckets sync --dry-run shows the deletes.',
              ),
            },
            metric(SYNC_METRICS.policyRefused, 'Sum', 'refused by the record policy'),
          ],
        },
      ],
    });
    this.facade.monitorLambdaFunction({
      lambdaFunction: syncFunction,
      alarmFriendlyName: 'RegistrySyncFunction',
      humanReadableName: 'Registry sync function',
      addFaultCountAlarm: {
        Critical: { maxErrorCount: 0, treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING },
      },
    });
  }
}

/** A broker metric with the `service` dimension Powertools adds. */
function metric(name: string, statistic: string, label: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: BROKER_METRICS.namespace,
    metricName: name,
    dimensionsMap: { service: BROKER_METRICS.service },
    statistic,
    period: PERIOD,
    label,
  });
}
