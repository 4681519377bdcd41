import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config';
import { ALARMS, type AlarmId } from '../../lib/constructs/observability';
import type { PipelineStack } from '../../lib/pipeline-stack';
import { METRIC } from '../../lambdas/shared/metric-names';
import { cdkJsonContext, ref, resourceOf, synthPipeline, type CfnResource } from './synth';

let template: Template;
let stack: PipelineStack;
let stackName: string;
let topicId: string;
let alarms: Record<string, CfnResource>;

beforeAll(() => {
  ({ template, stack } = synthPipeline({ 'aws:cdk:bundling-stacks': [], alarmEmail: 'ops@example.com' }));
  stackName = stack.stackName;
  topicId = resourceOf(template, 'AWS::SNS::Topic', 'AlarmTopic').logicalId;
  alarms = Object.fromEntries(
    Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, CfnResource>).map((alarm) => [
      String(alarm.Properties?.AlarmName),
      alarm,
    ]),
  );
});

const functionId = (name: string) => resourceOf(template, 'AWS::Lambda::Function', name).logicalId;
const alarmOf = (id: AlarmId) => {
  const alarm = alarms[`${stackName}-${id}`];
  if (!alarm) throw new Error(`no alarm ${stackName}-${id}; have ${Object.keys(alarms).join(', ')}`);
  return alarm.Properties!;
};

describe('alarm topic', () => {
  it('is encrypted with a rotated key CloudWatch may use, and takes SSL only', () => {
    const topic = resourceOf(template, 'AWS::SNS::Topic', 'AlarmTopic').resource;
    const key = resourceOf(template, 'AWS::KMS::Key', 'AlarmTopicKey');
    expect(topic.Properties?.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key.logicalId, 'Arn'] });
    expect(key.resource.Properties?.EnableKeyRotation).toBe(true);
    expect(JSON.stringify(key.resource.Properties?.KeyPolicy)).toContain('cloudwatch.amazonaws.com');
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(topicId)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('subscribes alarmEmail when set', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: ref(topicId) });
  });

  it('has no subscription by default (cdk.json alarmEmail is empty)', () => {
    expect(cdkJsonContext.alarmEmail).toBe('');
    const { template: plain } = synthPipeline({ 'aws:cdk:bundling-stacks': [] });
    expect(Object.keys(plain.findResources('AWS::SNS::Subscription'))).toEqual([]);
  });
});

describe('alarms', () => {
  it('exist exactly as the ALARMS table says, each notifying the topic on ALARM and OK', () => {
    expect(Object.keys(alarms).sort()).toEqual(Object.keys(ALARMS).map((id) => `${stackName}-${id}`).sort());
    for (const [id, spec] of Object.entries(ALARMS) as Array<[AlarmId, (typeof ALARMS)[AlarmId]]>) {
      const alarm = alarmOf(id);
      expect(alarm, id).toMatchObject({
        Threshold: spec.threshold,
        ComparisonOperator: spec.comparison,
        EvaluationPeriods: spec.evaluationPeriods,
        DatapointsToAlarm: spec.evaluationPeriods,
        TreatMissingData: 'notBreaching',
        AlarmActions: [ref(topicId)],
        OKActions: [ref(topicId)],
        AlarmDescription: spec.description,
      });
      const period = alarm.Period ?? alarm.Metrics?.find((m: { ReturnData?: boolean }) => m.ReturnData !== false)?.Period;
      const periods = alarm.Period !== undefined ? [alarm.Period] : alarm.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Period);
      expect(period ?? periods[0], id).toBe(spec.periodSeconds);
    }
  });

  it('watch the DeadLetterQueue depth and age and any StreamFailureQueue message', () => {
    const dlq = ref(resourceOf(template, 'AWS::SQS::Queue', 'DeadLetterQueue').logicalId);
    const sfq = ref(resourceOf(template, 'AWS::SQS::Queue', 'StreamFailureQueue').logicalId);
    const queueName = (queue: { Ref: string }) => [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue.Ref, 'QueueName'] } }];
    expect(alarmOf('DeadLetterQueueMessages')).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum', Dimensions: queueName(dlq) });
    expect(alarmOf('DeadLetterQueueOldestAge')).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: queueName(dlq) });
    expect(alarmOf('StreamFailureQueueMessages')).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: queueName(sfq), Threshold: 0 });
  });

  it('compute validity with metric math over first-pass EventsValid and EventsInvalid, missing data not breaching', () => {
    const alarm = alarmOf('Validity');
    expect(alarm.Threshold).toBe(0.95);
    expect(alarm.ComparisonOperator).toBe('LessThanThreshold');
    const expression = alarm.Metrics.find((m: any) => m.Expression);
    expect(expression.Expression).toBe('valid / (valid + invalid)');
    const stats = Object.fromEntries(alarm.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat]));
    for (const [id, name] of [['valid', METRIC.EventsValid], ['invalid', METRIC.EventsInvalid]] as const) {
      expect(stats[id]).toMatchObject({
        Metric: { Namespace: stackName, MetricName: name, Dimensions: [{ Name: 'service', Value: 'validator' }] },
        Period: 300,
        Stat: 'Sum',
      });
    }
  });

  it('watch LoadFailed, iterator ages, errors and throttles per function, the API 5XX rate and collector p99', () => {
    expect(alarmOf('LoadFailed')).toMatchObject({ Namespace: stackName, MetricName: METRIC.LoadFailed, Dimensions: [{ Name: 'service', Value: 'loader' }], Statistic: 'Sum', Threshold: 0 });
    for (const [id, fn] of [['ValidatorIteratorAge', 'Validator'], ['LoaderIteratorAge', 'Loader']] as const) {
      expect(alarmOf(id)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Statistic: 'Maximum',
        Threshold: 10_000,
        Dimensions: [{ Name: 'FunctionName', Value: ref(functionId(fn)) }],
      });
    }
    for (const fn of ['Collector', 'Validator', 'Loader', 'Generator'] as const) {
      expect(alarmOf(`${fn}Errors`)).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: ref(functionId(fn)) }] });
      expect(alarmOf(`${fn}Throttles`)).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: [{ Name: 'FunctionName', Value: ref(functionId(fn)) }] });
    }
    expect(alarmOf('Api5xxRate')).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5XXError', Statistic: 'Average', Threshold: 0.05 });
    expect(alarmOf('CollectorLatencyP99')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Duration',
      ExtendedStatistic: 'p99',
      Dimensions: [{ Name: 'FunctionName', Value: ref(functionId('Collector')) }],
    });
  });
});

describe('dashboard', () => {
  it('exists, named after the stack, with the alarm status and the stage widgets', () => {
    const { resource } = resourceOf(template, 'AWS::CloudWatch::Dashboard', 'Dashboard');
    expect(resource.Properties?.DashboardName).toBe(stackName);
    const body = JSON.stringify(resource.Properties?.DashboardBody);
    for (const title of ['Alarms', 'Throughput per stage', 'Validity', 'DeadLetterQueue depth and age', 'Iterator age', 'Errors', 'Latency']) {
      expect(body, title).toContain(title);
    }
    for (const name of [METRIC.EventsAccepted, METRIC.EventsValid, METRIC.EventsStored, METRIC.StoreLagSeconds, METRIC.ValidationErrors]) {
      expect(body, name).toContain(name);
    }
    expect(body).toContain('"type\\":\\"alarm\\"');
  });

  it('has its console URL as output DashboardUrl, and the topic as AlarmTopicArn', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs.DashboardUrl?.Value)).toContain(`#dashboards:name=${stackName}`);
    expect(outputs.AlarmTopicArn?.Value).toEqual(ref(topicId));
  });
});

describe('config alarmEmail', () => {
  it('accepts an address or empty, refuses anything else', () => {
    expect(parseConfig({ ...cdkJsonContext, alarmEmail: 'ops@example.com' }).alarmEmail).toBe('ops@example.com');
    expect(parseConfig(cdkJsonContext).alarmEmail).toBe('');
    for (const bad of ['ops', 'a@b', 'ops@example.com,x@example.com', 'Ops <ops@example.com>', 42]) {
      expect(() => parseConfig({ ...cdkJsonContext, alarmEmail: bad }), String(bad)).toThrow(ConfigError);
    }
  });
});

describe('cdk-nag', () => {
  it('AwsSolutions reports nothing unacknowledged with the alarm topic subscribed', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map(
      (violation) => `${violation.severity} ${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });
});
