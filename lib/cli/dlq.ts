import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { CliError } from './errors';

/** A dead-letter message as read from the queue, body parsed when it is JSON. */
export interface PeekedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  parsed?: Record<string, unknown>;
  attributes: Record<string, MessageAttributeValue>;
  reason: string;
  codes: string[];
  sentAt?: Date;
  receiveCount?: number;
}

export interface MessageFilter {
  reason?: string;
  code?: string;
}

/** `reason=validation_failed` or `code=too_small`. */
export function parseFilter(text: string | undefined): MessageFilter | undefined {
  if (text === undefined) return undefined;
  const match = /^(reason|code)=(.+)$/.exec(text.trim());
  if (!match) throw new CliError(`--filter must be reason=<reason> or code=<error code>, got "${text}"`);
  return match[1] === 'reason' ? { reason: match[2] } : { code: match[2] };
}

export function matchesFilter(message: Pick<PeekedMessage, 'reason' | 'codes'>, filter?: MessageFilter): boolean {
  if (!filter) return true;
  if (filter.reason !== undefined && message.reason !== filter.reason) return false;
  if (filter.code !== undefined && !message.codes.includes(filter.code)) return false;
  return true;
}

/** Reads reason and error codes from the attributes, else from the body (contract §3). */
export function describeMessage(message: Message): PeekedMessage {
  const body = message.Body ?? '';
  let parsed: Record<string, unknown> | undefined;
  try {
    const value = JSON.parse(body) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  const attributes = message.MessageAttributes ?? {};
  const reason =
    attributes.reason?.StringValue ?? (typeof parsed?.reason === 'string' ? parsed.reason : undefined) ?? 'unknown';
  const bodyCodes = Array.isArray(parsed?.errors)
    ? parsed.errors.flatMap((e) => (typeof (e as { code?: unknown })?.code === 'string' ? [(e as { code: string }).code] : []))
    : [];
  const attributeCodes = (attributes.error_codes?.StringValue ?? '').split(',').filter(Boolean);
  const sent = Number(message.Attributes?.SentTimestamp);
  const receives = Number(message.Attributes?.ApproximateReceiveCount);
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body,
    parsed,
    attributes,
    reason,
    codes: [...new Set(bodyCodes.length > 0 ? bodyCodes : attributeCodes)],
    sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent) : undefined,
    receiveCount: Number.isFinite(receives) ? receives : undefined,
  };
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  arn?: string;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'QueueArn'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    arn: Attributes.QueueArn,
  };
}

export interface ReceiveOptions {
  /** Seconds a received message stays hidden while we look at it. */
  visibilitySeconds: number;
  /** Stop after this many messages. */
  max?: number;
  /** Stop after this many receives in a row that bring nothing new. */
  emptyReceives?: number;
  onMessages?: (fresh: PeekedMessage[]) => void;
}

/**
 * Receives every message once (by MessageId), without deleting. Returns the messages with their
 * latest receipt handles; they stay hidden until `releaseMessages` or their visibility timeout.
 */
export async function receiveAll(sqs: SQSClient, queueUrl: string, options: ReceiveOptions): Promise<PeekedMessage[]> {
  const depth = await queueDepth(sqs, queueUrl);
  const seen = new Map<string, PeekedMessage>();
  const limit = options.max ?? Number.POSITIVE_INFINITY;
  let idle = 0;
  while (seen.size < limit && idle < (options.emptyReceives ?? 2)) {
    // Once we hold as many as the queue reported, one quick receive confirms nothing is left.
    const caughtUp = depth.visible > 0 && seen.size >= depth.visible;
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, Math.max(1, limit - seen.size)),
        VisibilityTimeout: options.visibilitySeconds,
        WaitTimeSeconds: caughtUp ? 0 : 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      }),
    );
    const fresh: PeekedMessage[] = [];
    for (const raw of Messages) {
      const message = describeMessage(raw);
      const known = seen.get(message.messageId);
      if (known) {
        known.receiptHandle = message.receiptHandle;
      } else if (seen.size < limit) {
        seen.set(message.messageId, message);
        fresh.push(message);
      } else {
        // One past the limit: give it back at once.
        await releaseMessages(sqs, queueUrl, [message]);
      }
    }
    idle = fresh.length === 0 ? idle + 1 : 0;
    if (caughtUp && fresh.length === 0) break;
    if (fresh.length > 0) options.onMessages?.(fresh);
  }
  return [...seen.values()];
}

/** Makes messages visible again at once (visibility 0) instead of after their timeout. */
export async function releaseMessages(sqs: SQSClient, queueUrl: string, messages: readonly PeekedMessage[]): Promise<number> {
  let failed = 0;
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    const result = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((m, index) => ({ Id: String(index), ReceiptHandle: m.receiptHandle, VisibilityTimeout: 0 })),
      }),
    );
    failed += result.Failed?.length ?? 0;
  }
  return failed;
}

/**
 * Reads the queue without consuming it: receive with a short visibility timeout, never delete,
 * then make everything visible again. Each peek adds one to ApproximateReceiveCount, which is
 * harmless on the DeadLetterQueue (it has no redrive policy of its own).
 */
export async function peekQueue(
  sqs: SQSClient,
  queueUrl: string,
  options: Omit<ReceiveOptions, 'visibilitySeconds'> & { visibilitySeconds?: number } = {},
): Promise<PeekedMessage[]> {
  const messages = await receiveAll(sqs, queueUrl, { visibilitySeconds: 5, ...options });
  await releaseMessages(sqs, queueUrl, messages);
  return messages;
}

export interface Sample {
  message_id: string;
  event_id?: string;
  age_seconds?: number;
  errors: Array<{ path: string; code: string; message: string }>;
}

export interface DeadLetterGroup {
  key: string;
  count: number;
  oldest_age_seconds?: number;
  /** For a reason: its error codes and their counts; for a code: the reasons it came with. */
  breakdown: Record<string, number>;
  samples: Sample[];
}

export interface DeadLetterStats {
  total: number;
  oldest_age_seconds?: number;
  by_reason: DeadLetterGroup[];
  by_code: DeadLetterGroup[];
}

export function ageSeconds(message: Pick<PeekedMessage, 'sentAt'>, now: Date): number | undefined {
  return message.sentAt ? Math.max(0, (now.getTime() - message.sentAt.getTime()) / 1000) : undefined;
}

export function sampleOf(message: PeekedMessage, now: Date): Sample {
  const record = message.parsed?.record as Record<string, unknown> | undefined;
  const errors = Array.isArray(message.parsed?.errors) ? (message.parsed.errors as Sample['errors']) : [];
  return {
    message_id: message.messageId,
    event_id: typeof record?.event_id === 'string' ? record.event_id : undefined,
    age_seconds: roundAge(ageSeconds(message, now)),
    errors,
  };
}

function roundAge(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value);
}

/** Groups by reason and by error code, with counts, a few samples and the oldest age of each. */
export function groupDeadLetters(messages: readonly PeekedMessage[], now: Date, samplesPerGroup = 3): DeadLetterStats {
  const byReason = new Map<string, { group: DeadLetterGroup; oldest?: number }>();
  const byCode = new Map<string, { group: DeadLetterGroup; oldest?: number }>();
  const add = (map: typeof byReason, key: string, message: PeekedMessage, breakdownKeys: string[]) => {
    const entry = map.get(key) ?? { group: { key, count: 0, breakdown: {}, samples: [] } };
    entry.group.count++;
    for (const k of breakdownKeys) entry.group.breakdown[k] = (entry.group.breakdown[k] ?? 0) + 1;
    if (entry.group.samples.length < samplesPerGroup) entry.group.samples.push(sampleOf(message, now));
    const age = ageSeconds(message, now);
    if (age !== undefined && (entry.oldest === undefined || age > entry.oldest)) entry.oldest = age;
    map.set(key, entry);
  };
  let oldest: number | undefined;
  for (const message of messages) {
    add(byReason, message.reason, message, message.codes.length > 0 ? message.codes : ['(none)']);
    for (const code of message.codes) add(byCode, code, message, [message.reason]);
    const age = ageSeconds(message, now);
    if (age !== undefined && (oldest === undefined || age > oldest)) oldest = age;
  }
  const finish = (map: typeof byReason) =>
    [...map.values()]
      .map(({ group, oldest: o }) => ({ ...group, oldest_age_seconds: roundAge(o) }))
      .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  return { total: messages.length, oldest_age_seconds: roundAge(oldest), by_reason: finish(byReason), by_code: finish(byCode) };
}

export interface ListedDeadLetter extends Sample {
  reason: string;
  codes: string[];
  receive_count?: number;
}

/**
 * What `dlq list` shows: the matching messages oldest first (by SentTimestamp), then at most
 * `limit` of them, so a limit shows the oldest ones rather than whichever arrived first.
 */
export function listDeadLetters(
  messages: readonly PeekedMessage[],
  now: Date,
  options: { filter?: MessageFilter; limit?: number } = {},
): ListedDeadLetter[] {
  return messages
    .filter((m) => matchesFilter(m, options.filter))
    .sort((a, b) => (a.sentAt?.getTime() ?? 0) - (b.sentAt?.getTime() ?? 0))
    .slice(0, options.limit)
    .map((m) => ({ ...sampleOf(m, now), reason: m.reason, codes: m.codes, receive_count: m.receiveCount }));
}
