import { sendableAttributes } from '../shared/sqs-attributes';
import {
  DeleteMessageBatchCommand,
  ListMessageMoveTasksCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type MessageAttributeValue,
  type StartMessageMoveTaskCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { deliverInChunks, type RetryPolicy } from '../../lambdas/shared/retry';
import { CliError } from './errors';
import { DLQ_COLUMN_WIDTHS, eventIdOf, matchesFilter, queueDepth, receiveAll, releaseMessages, type MessageFilter, type PeekedMessage } from './dlq';
import { ABSENT, escapeControl, idText, terminalText } from './terminal-text';
import type { Progress } from './progress';

export interface RedriveOptions {
  deadLetterQueueUrl: string;
  redriveQueueUrl: string;
  filter?: MessageFilter;
  max?: number;
  dryRun: boolean;
  /** `auto` tries StartMessageMoveTask first; `copy` always receives, sends and deletes. */
  mode: 'auto' | 'move-task' | 'copy';
  progress?: Progress;
  /** Polls the move task; tests pass a fast one. */
  pollMs?: number;
}

export interface RedriveSummary {
  path: 'move-task' | 'copy' | 'dry-run';
  /** Why the copy path was taken, when it was. */
  pathReason?: string;
  moved: number;
  /** Looked at but left in the DeadLetterQueue because they do not match --filter (or past --max). */
  skipped: number;
  /** Sent to the RedriveQueue but could not be deleted from the DeadLetterQueue: now in both. */
  notDeleted: number;
  /** Could not be sent; still in the DeadLetterQueue. */
  failed: number;
  byReason: Record<string, number>;
  /** In a dry run: what would move. */
  wouldMove?: Array<{ message_id: string; reason: string; codes: string[]; event_id?: unknown }>;
  moveTask?: { taskHandle?: string; status?: string; moved?: number; toMove?: number };
}

/** What an endpoint without StartMessageMoveTask answers (fauxqs, older emulators). */
export function isUnsupportedOperation(error: unknown): boolean {
  const name = (error as { name?: string; Code?: string; code?: string })?.name ?? '';
  const code = (error as { Code?: string })?.Code ?? (error as { code?: string })?.code ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const message = error instanceof Error ? error.message : '';
  // A queue that is not there (404 on AWS) is an answer about the queues, not about the action.
  if (name === 'ResourceNotFoundException') return false;
  return (
    /UnsupportedOperation|UnknownOperation|InvalidAction|NotImplemented/i.test(`${name} ${code}`) ||
    status === 404 ||
    status === 501 ||
    /not (supported|implemented)|unknown operation|unsupported/i.test(message)
  );
}

/**
 * How long a received message stays hidden during a copy run: skipped ones are released at the
 * end, so this only matters if the run dies (they come back on their own after it).
 */
const HOLD_SECONDS = 300;

const SEND_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 2_000, budgetMs: 15_000 };

/**
 * Moves DeadLetterQueue messages to the RedriveQueue, where the validator checks them again.
 * With no filter and no limit it asks SQS to do it (StartMessageMoveTask); where the endpoint
 * cannot, or when only some messages should move, it receives, sends the same body and
 * attributes, and deletes only what was sent: nothing lost, nothing doubled.
 */
export async function redrive(sqs: SQSClient, options: RedriveOptions): Promise<RedriveSummary> {
  if (options.dryRun) return dryRun(sqs, options);
  const selective = options.filter !== undefined || options.max !== undefined;
  if (options.mode === 'move-task' && selective) {
    throw new CliError('StartMessageMoveTask moves every message: --filter and --max need --mode copy or auto');
  }
  if (options.mode !== 'copy' && !selective) {
    try {
      return await moveTask(sqs, options);
    } catch (error) {
      if (options.mode === 'move-task' && isUnsupportedOperation(error)) {
        throw new CliError(`this endpoint does not support StartMessageMoveTask (${(error as Error).message}); use --mode auto or copy`);
      }
      if (!isUnsupportedOperation(error)) throw error;
      return copy(sqs, options, 'the endpoint does not support StartMessageMoveTask');
    }
  }
  return copy(
    sqs,
    options,
    options.mode === 'copy' ? '--mode copy' : '--filter/--max select messages, which StartMessageMoveTask cannot',
  );
}

async function dryRun(sqs: SQSClient, options: RedriveOptions): Promise<RedriveSummary> {
  const messages = await receiveAll(sqs, options.deadLetterQueueUrl, {
    visibilitySeconds: 5,
    onMessages: (fresh) => options.progress?.increment(fresh.length),
  });
  await releaseMessages(sqs, options.deadLetterQueueUrl, messages);
  const matching = messages.filter((m) => matchesFilter(m, options.filter)).slice(0, options.max);
  const byReason: Record<string, number> = {};
  for (const m of matching) byReason[m.reason] = (byReason[m.reason] ?? 0) + 1;
  return {
    path: 'dry-run',
    moved: 0,
    skipped: messages.length - matching.length,
    notDeleted: 0,
    failed: 0,
    byReason,
    wouldMove: matching.map((m) => ({
      message_id: m.messageId,
      reason: m.reason,
      codes: m.codes,
      event_id: eventIdOf(m),
    })),
  };
}

async function moveTask(sqs: SQSClient, options: RedriveOptions): Promise<RedriveSummary> {
  const [source, destination] = await Promise.all([
    queueDepth(sqs, options.deadLetterQueueUrl),
    queueDepth(sqs, options.redriveQueueUrl),
  ]);
  if (!source.arn || !destination.arn) throw new CliError('cannot read the queue ARNs (GetQueueAttributes QueueArn)');
  let started: StartMessageMoveTaskCommandOutput;
  try {
    started = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: source.arn, DestinationArn: destination.arn }));
  } catch (error) {
    if (/already a task running/i.test(error instanceof Error ? error.message : '')) {
      throw new CliError(
        'a move task is already running on the DeadLetterQueue (started from the console or another redrive): wait for it to end, ' +
          'or cancel it (aws sqs list-message-move-tasks / cancel-message-move-task)',
      );
    }
    throw error;
  }
  options.progress?.setTotal(source.visible);
  let moved = 0;
  // The first look comes soon (a small DLQ moves in well under a second), then every pollMs.
  let wait = Math.min(250, options.pollMs ?? 1_000);
  for (;;) {
    const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: source.arn, MaxResults: 1 }));
    const task = Results.find((t) => t.TaskHandle === started.TaskHandle) ?? Results[0];
    const toMove = task?.ApproximateNumberOfMessagesToMove;
    if (toMove !== undefined) options.progress?.setTotal(toMove);
    const nowMoved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    if (nowMoved > moved) options.progress?.increment(nowMoved - moved, `moved ${nowMoved}${toMove !== undefined ? ` of ${toMove}` : ''}`);
    moved = nowMoved;
    if (!task || task.Status === 'COMPLETED' || task.Status === 'FAILED' || task.Status === 'CANCELLED') {
      if (task?.Status === 'FAILED') throw new CliError(`the move task failed after moving ${moved}: ${task.FailureReason ?? 'no reason given'}`);
      return {
        path: 'move-task',
        moved,
        skipped: 0,
        notDeleted: 0,
        failed: 0,
        byReason: {},
        moveTask: { taskHandle: started.TaskHandle, status: task?.Status, moved, toMove },
      };
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = options.pollMs ?? 1_000;
  }
}

async function copy(sqs: SQSClient, options: RedriveOptions, pathReason: string): Promise<RedriveSummary> {
  const summary: RedriveSummary = { path: 'copy', pathReason, moved: 0, skipped: 0, notDeleted: 0, failed: 0, byReason: {} };
  const max = options.max ?? Number.POSITIVE_INFINITY;
  // Messages left in the DeadLetterQueue, by MessageId with their latest receipt handle.
  const held = new Map<string, PeekedMessage>();
  const handled = new Set<string>();
  const depth = await queueDepth(sqs, options.deadLetterQueueUrl);
  options.progress?.setTotal(Math.min(max, depth.visible));
  // A redriven message that fails again comes back as a new message: only what was in the queue
  // when the run started is looked at, or a run would chase its own returns for ever.
  const startedAt = Date.now();
  const isReturn = (m: PeekedMessage) => m.sentAt !== undefined && m.sentAt.getTime() > startedAt;
  try {
    let originals = 0;
    while (summary.moved < max && originals < depth.visible + depth.inFlight) {
      // Non-matching messages stay hidden until the end, so one run looks at each message once.
      const batch = await receiveAll(sqs, options.deadLetterQueueUrl, { visibilitySeconds: HOLD_SECONDS, max: 10 });
      for (const message of batch) if (held.has(message.messageId)) held.set(message.messageId, message);
      const fresh = batch.filter((m) => !handled.has(m.messageId));
      if (fresh.length === 0) break;
      const toMove: PeekedMessage[] = [];
      for (const message of fresh) {
        handled.add(message.messageId);
        if (isReturn(message)) {
          held.set(message.messageId, message);
          continue;
        }
        originals++;
        if (summary.moved + toMove.length < max && matchesFilter(message, options.filter)) {
          toMove.push(message);
        } else {
          summary.skipped++;
          held.set(message.messageId, message);
        }
      }
      if (toMove.length > 0) {
        for (const unsent of await moveBatch(sqs, options, toMove, summary)) held.set(unsent.messageId, unsent);
      }
    }
  } finally {
    await releaseMessages(sqs, options.deadLetterQueueUrl, [...held.values()]);
  }
  return summary;
}

async function moveBatch(
  sqs: SQSClient,
  options: RedriveOptions,
  messages: PeekedMessage[],
  summary: RedriveSummary,
): Promise<PeekedMessage[]> {
  const sent = await deliverInChunks(messages, {
    limits: { maxCount: 10, maxBytes: 256 * 1024, sizeOf: (m) => Buffer.byteLength(m.body) + attributesSize(m.attributes) },
    policy: SEND_POLICY,
    sendChunk: async (chunk) => {
      const result = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: options.redriveQueueUrl,
          Entries: chunk.map((m, index) => ({
            Id: String(index),
            MessageBody: m.body,
            MessageAttributes: sendableAttributes(m.attributes),
          })),
        }),
      );
      const ok = new Set((result.Successful ?? []).map((s) => s.Id));
      return chunk.map((_, index) => ok.has(String(index)));
    },
  });
  const toDelete = messages.filter((_, index) => sent[index]);
  const unsent = messages.filter((_, index) => !sent[index]);
  summary.failed += unsent.length;
  const deleted = await deliverInChunks(toDelete, {
    limits: { maxCount: 10, maxBytes: Number.MAX_SAFE_INTEGER, sizeOf: () => 1 },
    policy: SEND_POLICY,
    sendChunk: async (chunk) => {
      const result = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.deadLetterQueueUrl,
          Entries: chunk.map((m, index) => ({ Id: String(index), ReceiptHandle: m.receiptHandle })),
        }),
      );
      const ok = new Set((result.Successful ?? []).map((s) => s.Id));
      return chunk.map((_, index) => ok.has(String(index)));
    },
  });
  toDelete.forEach((message, index) => {
    if (!deleted[index]) summary.notDeleted++;
    summary.moved++;
    summary.byReason[message.reason] = (summary.byReason[message.reason] ?? 0) + 1;
  });
  options.progress?.increment(toDelete.length, `moved ${summary.moved}`);
  return unsent;
}


function attributesSize(attributes: Record<string, MessageAttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    size += name.length + (value.DataType?.length ?? 0) + (value.StringValue?.length ?? 0) + (value.BinaryValue?.length ?? 0);
  }
  return size;
}

/** The human output; every value from a dead letter escaped and cut to its column width (dlq.ts). */
export function formatRedrive(s: RedriveSummary): string {
  const w = DLQ_COLUMN_WIDTHS;
  if (s.path === 'dry-run') {
    return [
      `Dry run: ${s.wouldMove?.length ?? 0} message(s) would move to the RedriveQueue, ${s.skipped} would stay.`,
      ...(s.wouldMove ?? []).map(
        (m) =>
          `  ${terminalText(m.message_id, w.messageId)}  ${terminalText(m.reason, w.reason)}  ` +
          `${m.codes.length > 0 ? terminalText(m.codes.join(','), w.codes) : ABSENT}  ${idText(m.event_id, w.eventId)}`,
      ),
    ].join('\n');
  }
  const lines = [
    s.path === 'move-task'
      ? `Path: StartMessageMoveTask (task ${escapeControl(s.moveTask?.taskHandle ?? '?')}, ${escapeControl(s.moveTask?.status ?? '?')})`
      : `Path: receive -> send -> delete (${s.pathReason})`,
    `moved ${s.moved}, looked at and not moved ${s.skipped}, failed ${s.failed}, in both queues ${s.notDeleted}`,
  ];
  const reasons = Object.entries(s.byReason);
  if (reasons.length > 0) lines.push(`moved by reason: ${reasons.map(([r, n]) => `${terminalText(r, w.reason)} ${n}`).join(', ')}`);
  return lines.join('\n');
}
