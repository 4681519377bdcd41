import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SqsSchema } from '@aws-lambda-powertools/parser/schemas';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { createLambdaRuntime, type LambdaRuntime } from '../../tools/local-cloud/lambda-runtime';
import { startEventSourceMappings } from '../../tools/local-cloud/event-source-mappings';
import type { InvokeResult, Invoker, LocalResource } from '../../tools/local-cloud/types';
import { ACCOUNT_ID, REGION, functionResource, waitFor } from '../fixtures/local-functions/resources';

interface SqsEvent {
  Records: Array<{ messageId: string; body: string }>;
}

let fauxqs: FauxqsServer;
let sqs: SQSClient;
let endpoint: string;
let stateDir: string;
let runtime: LambdaRuntime;
let calls: Array<{ event: SqsEvent; result: InvokeResult }>;
let stopMappings: (() => Promise<void>) | undefined;
let queueCounter = 0;

const consumer = () => functionResource('QueueConsumer', 'queue-consumer');

const recordingInvoker: Invoker = {
  async invoke(functionName, event) {
    const result = await runtime.invoke(functionName, event);
    calls.push({ event: event as SqsEvent, result });
    return result;
  },
};

beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, logger: false });
  endpoint = `http://127.0.0.1:${fauxqs.port}`;
  sqs = new SQSClient({ endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, requestHandler: new NodeHttpHandler() });
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'esm-sqs-'));
  runtime = createLambdaRuntime({ resources: [consumer()], endpoint, region: REGION, accountId: ACCOUNT_ID });
});

afterEach(async () => {
  await stopMappings?.();
  stopMappings = undefined;
});

afterAll(async () => {
  await runtime?.stop();
  sqs?.destroy();
  await fauxqs?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** A source queue (short visibility timeout) whose RedrivePolicy sends to its own DLQ. */
async function createQueues(maxReceiveCount: number) {
  queueCounter += 1;
  const dlq = await queue(`consumer-dlq-${queueCounter}`, {});
  const source = await queue(`consumer-source-${queueCounter}`, {
    VisibilityTimeout: '1',
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount }),
  });
  return { source, dlq };
}

async function queue(name: string, attributes: Record<string, string>) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn!, name };
}

function start(queueArn: string, properties: Record<string, unknown>) {
  calls = [];
  const mapping: LocalResource = {
    logicalId: 'QueueMapping',
    type: 'AWS::Lambda::EventSourceMapping',
    properties: { FunctionName: 'local-QueueConsumer', EventSourceArn: queueArn, ...properties },
    ref: 'mapping-uuid',
    attributes: {},
  };
  const esm = startEventSourceMappings({ resources: [consumer(), mapping], invoker: recordingInvoker, endpoint, region: REGION, accountId: ACCOUNT_ID });
  stopMappings = () => esm.stop();
  return esm;
}

async function send(queueUrl: string, bodies: Array<{ id: string; behaviour: string }>) {
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: JSON.stringify(body) })),
    }),
  );
}

async function counts(queueUrl: string) {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
}

async function drain(queueUrl: string, expected: number): Promise<string[]> {
  const bodies: string[] = [];
  await waitFor(async () => {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }));
    bodies.push(...(Messages ?? []).map((message) => message.Body!));
    return bodies.length >= expected ? true : undefined;
  }, `${expected} message(s) in ${queueUrl}`);
  return bodies;
}

const idsIn = (bodies: string[]) => bodies.map((body) => (JSON.parse(body) as { id: string }).id).sort();
const processedIds = () =>
  calls.filter((call) => call.result.ok).flatMap((call) => call.event.Records.map((record) => JSON.parse(record.body).id as string));

describe('SQS event source mapping (fauxqs)', () => {
  it('sends the event shape AWS sends, with message attributes in Lambda form', async () => {
    const { source } = await createQueues(5);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: source.url,
        MessageBody: JSON.stringify({ id: 's1', behaviour: 'ok' }),
        MessageAttributes: { reason: { DataType: 'String', StringValue: 'validation_failed' } },
      }),
    );
    const esm = start(source.arn, { BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    expect(esm.mappings).toEqual([expect.objectContaining({ batchSize: 10, reportBatchItemFailures: true })]);
    await waitFor(() => (processedIds().includes('s1') ? true : undefined), 'the message to be processed');

    const parsed = SqsSchema.parse(calls[0]!.event);
    expect(parsed.Records[0]).toMatchObject({
      body: JSON.stringify({ id: 's1', behaviour: 'ok' }),
      eventSource: 'aws:sqs',
      eventSourceARN: source.arn,
      awsRegion: REGION,
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: { reason: { stringValue: 'validation_failed', stringListValues: [], binaryListValues: [], dataType: 'String' } },
    });
    await waitFor(async () => ((await counts(source.url)) === 0 ? true : undefined), 'the processed message to be deleted');
  });

  it('deletes the processed messages of a batch and leaves only the reported failures, which reach the DLQ after maxReceiveCount', async () => {
    const { source, dlq } = await createQueues(2);
    await send(source.url, [
      { id: 'ok-1', behaviour: 'ok' },
      { id: 'fail-1', behaviour: 'fail' },
      { id: 'ok-2', behaviour: 'ok' },
      { id: 'fail-2', behaviour: 'fail' },
    ]);
    start(source.arn, { BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] });

    const inDlq = await drain(dlq.url, 2);
    expect(idsIn(inDlq)).toEqual(['fail-1', 'fail-2']);
    await waitFor(async () => ((await counts(source.url)) === 0 ? true : undefined), 'the source queue to empty');
    // Each good message was processed once: deleted after its first successful batch.
    expect(processedIds().filter((id) => id.startsWith('ok')).sort()).toEqual(['ok-1', 'ok-2']);
    const failedDeliveries = calls.flatMap((call) => call.event.Records.map((record) => JSON.parse(record.body).id as string)).filter((id) => id.startsWith('fail'));
    expect(failedDeliveries.sort()).toEqual(['fail-1', 'fail-1', 'fail-2', 'fail-2']);
  });

  it('on a function error leaves the whole batch, which returns after the visibility timeout and then reaches the DLQ', async () => {
    const { source, dlq } = await createQueues(2);
    await send(source.url, [
      { id: 't-1', behaviour: 'throw' },
      { id: 't-2', behaviour: 'throw' },
    ]);
    start(source.arn, { BatchSize: 10 });
    const inDlq = await drain(dlq.url, 2);
    expect(idsIn(inDlq)).toEqual(['t-1', 't-2']);
    expect(calls.some((call) => !call.result.ok)).toBe(true);
    expect(calls.every((call) => !call.result.ok)).toBe(true);
  });
});
