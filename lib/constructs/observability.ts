import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { alarmNamePrefix, ERROR_CODE_DIMENSION, METRIC, type MetricName } from '../../lambdas/shared/metric-names';
import { PipelineConcern } from './pipeline-concern';

/** The functions the alarms watch, by the `service` their metrics carry (POWERTOOLS_SERVICE_NAME). */
export type Service = 'collector' | 'validator' | 'loader' | 'generator';
export const SERVICES: readonly Service[] = ['collector', 'validator', 'loader', 'generator'];
/** The two Kinesis consumers, whose IteratorAge says whether they keep up. */
export const STREAM_CONSUMERS = ['validator', 'loader'] as const satisfies readonly Service[];

const capitalised = (service: Service) => `${service[0]!.toUpperCase()}${service.slice(1)}`;

/**
 * Every alarm's name (after the `<StackName>-` prefix), threshold and window, in one place: the
 * construct builds them from this table, the README lists them, the tests hold the template to it.
 * `comparison` reads "alarm when the metric is <comparison> threshold".
 */
export interface AlarmSpec {
  readonly threshold: number;
  readonly comparison: 'GreaterThanThreshold' | 'LessThanThreshold';
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly description: string;
}

export const ALARMS = {
  DeadLetterQueueMessages: {
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 60,
    evaluationPeriods: 1,
    description: 'Messages visible in the DeadLetterQueue: invalid or unloadable events wait for someone (pipeline dlq stats).',
  },
  DeadLetterQueueOldestAge: {
    threshold: 3600,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 60,
    evaluationPeriods: 1,
    description: 'The oldest DeadLetterQueue message is over an hour old (seconds): nobody is looking at it.',
  },
  StreamFailureQueueMessages: {
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 60,
    evaluationPeriods: 1,
    description: 'A Kinesis event source gave up on a range of records: they are in StreamFailureQueue (pipeline replay).',
  },
  Validity: {
    threshold: 0.95,
    comparison: 'LessThanThreshold',
    periodSeconds: 300,
    evaluationPeriods: 1,
    description: 'First-pass validity EventsValid / (EventsValid + EventsInvalid) under 95% over 5 minutes (no traffic: not breaching).',
  },
  LoadFailed: {
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 60,
    evaluationPeriods: 1,
    description: 'The loader dead-lettered events it could not store (reason load_failed).',
  },
  ValidatorIteratorAge: {
    threshold: 10_000,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 60,
    evaluationPeriods: 1,
    description: 'The validator is over 10 s behind the raw stream (IteratorAge, milliseconds, maximum).',
  },
  LoaderIteratorAge: {
    threshold: 10_000,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 60,
    evaluationPeriods: 1,
    description: 'The loader is over 10 s behind the processed stream (IteratorAge, milliseconds, maximum).',
  },
  ...(Object.fromEntries(
    SERVICES.flatMap((service) => [
      [
        `${capitalised(service)}Errors`,
        {
          threshold: 0,
          comparison: 'GreaterThanThreshold',
          periodSeconds: 60,
          evaluationPeriods: 1,
          description: `The ${service} function failed (Lambda Errors: an invocation threw or timed out).`,
        },
      ],
      [
        `${capitalised(service)}Throttles`,
        {
          threshold: 0,
          comparison: 'GreaterThanThreshold',
          periodSeconds: 60,
          evaluationPeriods: 1,
          description: `The ${service} function was throttled (Lambda Throttles: concurrency exhausted).`,
        },
      ],
    ]),
  ) as Record<`${Capitalize<Service>}${'Errors' | 'Throttles'}`, AlarmSpec>),
  Api5xxRate: {
    threshold: 0.05,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 300,
    evaluationPeriods: 1,
    description: 'Over 5% of ingest API requests answered 5XX over 5 minutes (5XXError, average).',
  },
  CollectorLatencyP99: {
    threshold: 3_000,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 300,
    evaluationPeriods: 1,
    description: 'The collector p99 duration is over 3 s over 5 minutes (milliseconds): producers wait.',
  },
  // Only with the raw archive (context rawArchive).
  ArchiveDeliveryFailed: {
    threshold: 1,
    comparison: 'LessThanThreshold',
    periodSeconds: 300,
    evaluationPeriods: 1,
    description: 'Firehose failed to write to the archive bucket (DeliveryToS3.Success, minimum, under 1): it retries, see the errors/ prefix.',
  },
  ArchiveDataFreshness: {
    threshold: 1_800,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 300,
    evaluationPeriods: 1,
    description: 'The oldest record Firehose holds is over 30 minutes old (DeliveryToS3.DataFreshness, seconds, maximum): the archive falls behind.',
  },
} as const satisfies Record<string, AlarmSpec>;

export type AlarmId = keyof typeof ALARMS;

export { alarmNamePrefix };

export interface ObservabilityProps {
  readonly config: PipelineConfig;
  readonly functions: Readonly<Record<Service, IFunction>>;
  readonly api: RestApi;
  readonly deadLetterQueue: IQueue;
  readonly streamFailureQueue: IQueue;
  /** The raw archive's Firehose delivery stream, when there is one (its two alarms exist only then). */
  readonly archiveDeliveryStreamName?: string;
}

/** The alarms that exist only with the raw archive. */
export const ARCHIVE_ALARMS = ['ArchiveDeliveryFailed', 'ArchiveDataFreshness'] as const satisfies readonly AlarmId[];

/**
 * Alarms to an SNS topic (an email subscription when `alarmEmail` is set) and a CloudWatch
 * dashboard, over the functions' EMF metrics (namespace = stack name, dimension `service`) and
 * the services' own (SQS, Lambda, API Gateway).
 */
export class Observability extends PipelineConcern {
  readonly topic: Topic;
  readonly alarms: Partial<Record<AlarmId, Alarm>>;
  readonly dashboard: Dashboard;
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { config, functions } = props;
    const stackName = Stack.of(this).stackName;

    // CloudWatch can publish to an encrypted topic only with a customer managed key whose policy
    // lets it (the AWS managed aws/sns key does not).
    const key = new Key(this, 'AlarmTopicKey', {
      description: `Encrypts the ${stackName} alarm topic`,
      enableKeyRotation: true,
      removalPolicy: config.removalPolicy,
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `${stackName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (config.alarmEmail) this.topic.addSubscription(new EmailSubscription(config.alarmEmail));

    const emf = (name: MetricName, service: Service, statistic: string, period: Duration) =>
      new Metric({ namespace: stackName, metricName: name, dimensionsMap: { service }, statistic, period });
    const minutes = (spec: AlarmSpec) => Duration.seconds(spec.periodSeconds);
    const validity = new MathExpression({
      expression: 'valid / (valid + invalid)',
      usingMetrics: {
        valid: emf(METRIC.EventsValid, 'validator', 'Sum', minutes(ALARMS.Validity)),
        invalid: emf(METRIC.EventsInvalid, 'validator', 'Sum', minutes(ALARMS.Validity)),
      },
      label: 'first-pass validity',
      period: minutes(ALARMS.Validity),
    });

    const firehose = (metricName: string, statistic: string, spec: AlarmSpec) =>
      new Metric({
        namespace: 'AWS/Firehose',
        metricName,
        dimensionsMap: { DeliveryStreamName: props.archiveDeliveryStreamName ?? '' },
        statistic,
        period: minutes(spec),
      });
    const metricOf: Partial<Record<AlarmId, IMetric>> = {
      DeadLetterQueueMessages: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minutes(ALARMS.DeadLetterQueueMessages) }),
      DeadLetterQueueOldestAge: props.deadLetterQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: minutes(ALARMS.DeadLetterQueueOldestAge) }),
      StreamFailureQueueMessages: props.streamFailureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minutes(ALARMS.StreamFailureQueueMessages) }),
      Validity: validity,
      LoadFailed: emf(METRIC.LoadFailed, 'loader', 'Sum', minutes(ALARMS.LoadFailed)),
      ValidatorIteratorAge: functions.validator.metric('IteratorAge', { statistic: 'Maximum', period: minutes(ALARMS.ValidatorIteratorAge) }),
      LoaderIteratorAge: functions.loader.metric('IteratorAge', { statistic: 'Maximum', period: minutes(ALARMS.LoaderIteratorAge) }),
      ...(Object.fromEntries(
        SERVICES.flatMap((service) => [
          [`${capitalised(service)}Errors`, functions[service].metricErrors({ statistic: 'Sum', period: Duration.minutes(1) })],
          [`${capitalised(service)}Throttles`, functions[service].metricThrottles({ statistic: 'Sum', period: Duration.minutes(1) })],
        ]),
      ) as unknown as Record<`${Capitalize<Service>}${'Errors' | 'Throttles'}`, IMetric>),
      Api5xxRate: props.api.metricServerError({ statistic: 'Average', period: minutes(ALARMS.Api5xxRate) }),
      CollectorLatencyP99: functions.collector.metricDuration({ statistic: 'p99', period: minutes(ALARMS.CollectorLatencyP99) }),
      ...(props.archiveDeliveryStreamName !== undefined
        ? {
            ArchiveDeliveryFailed: firehose('DeliveryToS3.Success', 'Minimum', ALARMS.ArchiveDeliveryFailed),
            ArchiveDataFreshness: firehose('DeliveryToS3.DataFreshness', 'Maximum', ALARMS.ArchiveDataFreshness),
          }
        : {}),
    };

    const action = new SnsAction(this.topic);
    this.alarms = Object.fromEntries(
      (Object.entries(ALARMS) as Array<[AlarmId, AlarmSpec]>).flatMap(([alarmId, spec]) => {
        const metric = metricOf[alarmId];
        if (metric === undefined) return [];
        const alarm = new Alarm(this, `${alarmId}Alarm`, {
          alarmName: `${alarmNamePrefix(stackName)}${alarmId}`,
          alarmDescription: spec.description,
          metric,
          threshold: spec.threshold,
          comparisonOperator:
            spec.comparison === 'GreaterThanThreshold' ? ComparisonOperator.GREATER_THAN_THRESHOLD : ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: spec.evaluationPeriods,
          datapointsToAlarm: spec.evaluationPeriods,
          // No traffic is no evidence of a fault; NO_DATA is status's job.
          treatMissingData: TreatMissingData.NOT_BREACHING,
        });
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
        return [[alarmId, alarm]];
      }),
    ) as Partial<Record<AlarmId, Alarm>>;

    const sum = (name: MetricName, service: Service, label: string) =>
      emf(name, service, 'Sum', Duration.minutes(1)).with({ label });
    const dashboardName = stackName;
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName, defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${stackName}\nAPI -> raw stream -> validator -> processed stream -> loader -> DynamoDB. Alarms go to the SNS topic; \`pipeline status\` reads their states.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms).filter((alarm) => alarm !== undefined), width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Throughput per stage (events/minute)',
        left: [
          sum(METRIC.EventsAccepted, 'collector', 'accepted (collector)'),
          sum(METRIC.EventsValid, 'validator', 'valid (validator)'),
          sum(METRIC.EventsInvalid, 'validator', 'invalid (validator)'),
          sum(METRIC.EventsStored, 'loader', 'stored (loader)'),
          sum(METRIC.EventsDuplicate, 'loader', 'duplicates (loader)'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Validity (first pass) and errors by code',
        left: [validity.with({ label: 'validity' })],
        leftYAxis: { min: 0, max: 1 },
        leftAnnotations: [{ value: ALARMS.Validity.threshold, label: 'alarm' }],
        right: [
          new MathExpression({
            expression: `SEARCH('{"${stackName}",${ERROR_CODE_DIMENSION},service} MetricName="${METRIC.ValidationErrors}"', 'Sum', 300)`,
            label: '',
            period: Duration.minutes(5),
          }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'DeadLetterQueue depth and age; StreamFailureQueue',
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'DLQ messages', statistic: 'Maximum' }),
          props.streamFailureQueue.metricApproximateNumberOfMessagesVisible({ label: 'StreamFailureQueue messages', statistic: 'Maximum' }),
        ],
        right: [props.deadLetterQueue.metricApproximateAgeOfOldestMessage({ label: 'DLQ oldest (s)', statistic: 'Maximum' })],
        width: 12,
      }),
      new GraphWidget({
        title: 'Iterator age (ms)',
        left: STREAM_CONSUMERS.map((service) => functions[service].metric('IteratorAge', { statistic: 'Maximum', label: service })),
        leftAnnotations: [{ value: ALARMS.ValidatorIteratorAge.threshold, label: 'alarm' }],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Errors',
        left: [
          ...SERVICES.map((service) => functions[service].metricErrors({ label: `${service} errors`, statistic: 'Sum' })),
          ...SERVICES.map((service) => functions[service].metricThrottles({ label: `${service} throttles`, statistic: 'Sum' })),
          sum(METRIC.LoadFailed, 'loader', 'load_failed (loader)'),
        ],
        right: [props.api.metricServerError({ label: 'API 5XX rate', statistic: 'Average' })],
        width: 12,
      }),
      new GraphWidget({
        title: 'Latency',
        left: [
          functions.collector.metricDuration({ label: 'collector p99 (ms)', statistic: 'p99' }),
          props.api.metricLatency({ label: 'API p99 (ms)', statistic: 'p99' }),
        ],
        right: [
          emf(METRIC.StoreLagSeconds, 'loader', 'Average', Duration.minutes(1)).with({ label: 'event_time -> stored, average (s)' }),
          emf(METRIC.StoreLagMaxSeconds, 'loader', 'Maximum', Duration.minutes(1)).with({ label: 'event_time -> stored, max (s)' }),
        ],
        width: 12,
      }),
    );

    if (props.archiveDeliveryStreamName !== undefined) {
      const archiveSpec = { ...ALARMS.ArchiveDataFreshness, periodSeconds: 60 };
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Raw archive (Firehose -> S3)',
          left: [
            firehose('IncomingRecords', 'Sum', archiveSpec).with({ label: 'records read from RawStream' }),
            firehose('DeliveryToS3.Records', 'Sum', archiveSpec).with({ label: 'records written to S3' }),
          ],
          right: [firehose('DeliveryToS3.DataFreshness', 'Maximum', archiveSpec).with({ label: 'oldest record not yet in S3 (s)' })],
          rightAnnotations: [{ value: ALARMS.ArchiveDataFreshness.threshold, label: 'alarm' }],
          width: 12,
        }),
      );
    }

    this.dashboardUrl = `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${dashboardName}`;
  }
}
