import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { CliError } from './errors';
import { formatAge, table } from './format';
import { ABSENT, escapeControl, idText, safeJson, terminalText } from './terminal-text';

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
  /** The record's event_id as it is: usually a string, but client data can hold anything. */
  event_id?: unknown;
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
    event_id: eventIdOf(message),
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

/** The record's event_id as the dead letter holds it (any JSON value), undefined when it has none. */
export function eventIdOf(message: Pick<PeekedMessage, 'parsed'>): unknown {
  const record = message.parsed?.record;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  return Object.hasOwn(record, 'event_id') ? (record as Record<string, unknown>).event_id : undefined;
}

// ---------------------------------------------------------------------------------------------
// Human output. Every value in a dead letter is client data (or may be): escaped so it cannot
// drive the terminal, and cut to a column width so one long value cannot widen every row.
// --json prints the data exactly (format.ts printJson).

export const DLQ_COLUMN_WIDTHS = { messageId: 40, reason: 32, codes: 40, eventId: 40, firstError: 60, sample: 80, breakdown: 80 };

const codesText = (codes: readonly string[], max: number) => (codes.length > 0 ? terminalText(codes.join(','), max) : ABSENT);

/** `dlq list`: one row per dead letter, every column bounded. */
export function formatDeadLetterList(rows: readonly ListedDeadLetter[]): string {
  if (rows.length === 0) return 'No dead letters.';
  const w = DLQ_COLUMN_WIDTHS;
  return `${table(
    ['message id', 'age', 'reason', 'codes', 'event_id', 'first error'],
    rows.map((r) => [
      terminalText(r.message_id, w.messageId),
      formatAge(r.age_seconds),
      terminalText(r.reason, w.reason),
      codesText(r.codes, w.codes),
      idText(r.event_id, w.eventId),
      firstErrorText(r.errors, w.firstError),
    ]),
  )}\n\n${rows.length} message(s).`;
}

function firstErrorText(errors: unknown, max: number): string {
  const first = Array.isArray(errors) ? (errors[0] as { message?: unknown } | undefined) : undefined;
  if (first === undefined || first === null) return ABSENT;
  return terminalText(typeof first.message === 'string' ? first.message : safeJson(first), max);
}

/** `dlq stats`: totals, then by reason and by error code with a sample each. */
export function formatDeadLetterStats(stats: DeadLetterStats): string {
  if (stats.total === 0) return 'The DeadLetterQueue is empty.';
  const w = DLQ_COLUMN_WIDTHS;
  const breakdown = (counts: Record<string, number>) =>
    terminalText(
      Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .map(([code, n]) => `${code} ${n}`)
        .join(', '),
      w.breakdown,
    );
  const sample = (group: DeadLetterGroup): string => {
    const first = group.samples[0];
    if (!first) return ABSENT;
    const errors = Array.isArray(first.errors) ? first.errors : [];
    const error = errors.find((e) => e?.code === group.key)?.message;
    const id = first.event_id !== undefined ? idText(first.event_id, w.eventId) : terminalText(first.message_id, w.messageId);
    return terminalText(`${id}: ${typeof error === 'string' ? escapeControl(error) : ''}`, w.sample);
  };
  return [
    `${stats.total} dead letter(s), oldest ${formatAge(stats.oldest_age_seconds)}`,
    '',
    table(
      ['reason', 'count', 'oldest', 'error codes'],
      stats.by_reason.map((g) => [terminalText(g.key, w.reason), g.count, formatAge(g.oldest_age_seconds), breakdown(g.breakdown)]),
    ),
    '',
    table(
      ['error code', 'count', 'oldest', 'sample'],
      stats.by_code.map((g) => [terminalText(g.key, w.reason), g.count, formatAge(g.oldest_age_seconds), sample(g)]),
    ),
  ].join('\n');
}

/** What `dlq show` shows of one message (its --json output). */
export interface ShownDeadLetter {
  message_id: string;
  sent_at?: string;
  receive_count?: number;
  attributes: Record<string, string | undefined>;
  body: unknown;
}

export function shownDeadLetter(message: PeekedMessage): ShownDeadLetter {
  return {
    message_id: message.messageId,
    sent_at: message.sentAt?.toISOString(),
    receive_count: message.receiveCount,
    attributes: Object.fromEntries(Object.entries(message.attributes).map(([k, v]) => [k, v.StringValue])),
    body: message.parsed ?? message.body,
  };
}

/** `dlq show`: the message in full (nothing cut), every control character escaped. */
export function formatDeadLetter(shown: ShownDeadLetter): string {
  const attributes = Object.entries(shown.attributes)
    .map(([k, v]) => `${escapeControl(k)}=${v === undefined ? ABSENT : escapeControl(v)}`)
    .join(' ');
  return [
    `message ${escapeControl(shown.message_id)}, sent ${shown.sent_at ?? '?'}, received ${shown.receive_count ?? '?'} time(s)`,
    `attributes: ${attributes}`,
    safeJson(shown.body, 2),
  ].join('\n');
}
