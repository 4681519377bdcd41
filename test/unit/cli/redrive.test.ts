import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { redrive } from '../../../tools/cli/redrive';

const DLQ = 'http://sqs/000000000000/dlq';
const REDRIVE = 'http://sqs/000000000000/redrive';
const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'us-east-1' });

function message(id: string, reason = 'validation_failed'): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: JSON.stringify({ reason, errors: [], record: { event_id: `evt-${id}` }, source: {}, first_failed_at: 'x', attempts: 1 }),
    MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
    Attributes: { SentTimestamp: String(Date.now() - 60_000) },
  };
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(GetQueueAttributesCommand, { QueueUrl: DLQ }).resolves({
    Attributes: { ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '0', QueueArn: 'arn:dlq' },
  });
  sqsMock.on(GetQueueAttributesCommand, { QueueUrl: REDRIVE }).resolves({
    Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0', QueueArn: 'arn:redrive' },
  });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('redrive', () => {
  it('uses StartMessageMoveTask with the RedriveQueue as destination where the endpoint has it', async () => {
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
    sqsMock
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({ Results: [{ TaskHandle: 'task-1', Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 1 }] })
      .resolves({ Results: [{ TaskHandle: 'task-1', Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 3 }] });
    const summary = await redrive(sqs, { deadLetterQueueUrl: DLQ, redriveQueueUrl: REDRIVE, dryRun: false, mode: 'auto', pollMs: 1 });
    expect(summary).toMatchObject({ path: 'move-task', moved: 3, moveTask: { taskHandle: 'task-1', status: 'COMPLETED' } });
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toEqual({ SourceArn: 'arn:dlq', DestinationArn: 'arn:redrive' });
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });

  it('falls back to copying when StartMessageMoveTask is unknown, deleting only what was sent', async () => {
    sqsMock.on(StartMessageMoveTaskCommand).rejects(Object.assign(new Error('Unknown action'), { name: 'InvalidAction' }));
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [message('a'), message('b'), message('c')] }).resolves({ Messages: [] });
    // b is refused by SendMessageBatch every time: it must stay in the DLQ.
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string; MessageBody: string }> }) => ({
      Successful: input.Entries.filter((e) => !e.MessageBody.includes('evt-b')).map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: input.Entries.filter((e) => e.MessageBody.includes('evt-b')).map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
    }));
    sqsMock.on(DeleteMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id })),
      Failed: [],
    }));

    const summary = await redrive(sqs, { deadLetterQueueUrl: DLQ, redriveQueueUrl: REDRIVE, dryRun: false, mode: 'auto' });
    expect(summary).toMatchObject({ path: 'copy', pathReason: 'the endpoint does not support StartMessageMoveTask', moved: 2, failed: 1, notDeleted: 0 });
    const deleted = sqsMock.commandCalls(DeleteMessageBatchCommand).flatMap((call) => call.args[0].input.Entries!.map((e) => e.ReceiptHandle));
    expect(deleted.sort()).toEqual(['rh-a', 'rh-c']);
    const released = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((call) => call.args[0].input.Entries!.map((e) => e.ReceiptHandle));
    expect(released).toContain('rh-b');
    // Same body and attributes, so the validator and the console filters see the same message.
    const sent = sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries?.[0];
    expect(sent?.MessageBody).toBe(message('a').Body);
    expect(sent?.MessageAttributes).toEqual({ reason: { DataType: 'String', StringValue: 'validation_failed' } });
  });

  it('--filter skips StartMessageMoveTask and leaves non-matching messages, made visible again', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [message('a'), message('b', 'load_failed')] }).resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: [],
    }));
    sqsMock.on(DeleteMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id })),
      Failed: [],
    }));
    const summary = await redrive(sqs, {
      deadLetterQueueUrl: DLQ,
      redriveQueueUrl: REDRIVE,
      dryRun: false,
      mode: 'auto',
      filter: { reason: 'load_failed' },
    });
    expect(summary).toMatchObject({ path: 'copy', moved: 1, skipped: 1, byReason: { load_failed: 1 } });
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
    const released = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((call) => call.args[0].input.Entries!);
    expect(released).toEqual([{ Id: '0', ReceiptHandle: 'rh-a', VisibilityTimeout: 0 }]);
  });

  it('--mode move-task on an endpoint without it is a clear error', async () => {
    sqsMock.on(StartMessageMoveTaskCommand).rejects(Object.assign(new Error('Unknown action'), { name: 'InvalidAction' }));
    await expect(redrive(sqs, { deadLetterQueueUrl: DLQ, redriveQueueUrl: REDRIVE, dryRun: false, mode: 'move-task' })).rejects.toThrow(
      /does not support StartMessageMoveTask .* use --mode auto or copy/,
    );
  });
});
