import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import * as z from 'zod';

/** What the collector writes to the raw stream: the event as received plus when and how it came. */
export const RawRecordSchema = z.object({
  received_at: z.iso.datetime({ offset: true }),
  request_id: z.string(),
  event: z.unknown(),
  /** Set by `pipeline replay` on a record it puts back: counted apart from first-pass traffic. */
  replayed_at: z.string().optional(),
});
export type RawRecord = z.infer<typeof RawRecordSchema>;

export const DEAD_LETTER_REASONS = [
  'unparseable',
  'validation_failed',
  'load_failed',
  'redrive_unparseable',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export const FieldErrorSchema = z.object({
  path: z.string(),
  code: z.string(),
  message: z.string(),
});
export type FieldError = z.infer<typeof FieldErrorSchema>;

/** Contract §3, plus source.received_at: the reference time for the time rules on redrive. */
export const DeadLetterMessageSchema = z.object({
  reason: z.string(),
  errors: z.array(FieldErrorSchema),
  record: z.unknown(),
  source: z.looseObject({
    stream: z.string().optional(),
    shard_id: z.string().optional(),
    sequence_number: z.string().optional(),
    request_id: z.string().optional(),
    received_at: z.string().optional(),
    queue: z.string().optional(),
    message_id: z.string().optional(),
  }),
  first_failed_at: z.string(),
  attempts: z.number().int().min(1),
});
export type DeadLetterMessage = z.infer<typeof DeadLetterMessageSchema>;

/** SQS message attributes that let the console and the CLI filter dead letters. */
export function deadLetterAttributes(
  message: Pick<DeadLetterMessage, 'reason' | 'errors'>,
): Record<string, MessageAttributeValue> {
  const codes = [...new Set(message.errors.map((e) => e.code))].join(',');
  return {
    reason: { DataType: 'String', StringValue: message.reason },
    ...(codes ? { error_codes: { DataType: 'String', StringValue: codes.slice(0, 1024) } } : {}),
  };
}
