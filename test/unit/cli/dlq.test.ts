import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { describeMessage, groupDeadLetters, listDeadLetters, matchesFilter, parseFilter } from '../../../tools/cli/dlq';
import { deadLetterAttributes } from '../../../lambdas/shared/records';

const NOW = new Date('2026-11-22T12:00:00.000Z');

function deadLetter(id: string, reason: string, codes: string[], sentSecondsAgo: number, eventId = `evt-${id}`): Message {
  const errors = codes.map((code) => ({ path: 'price', code, message: `${code} happened` }));
  const attributes = deadLetterAttributes({ reason, errors });
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: JSON.stringify({ reason, errors, record: { event_id: eventId }, source: {}, first_failed_at: NOW.toISOString(), attempts: 1 }),
    MessageAttributes: attributes,
    Attributes: { SentTimestamp: String(NOW.getTime() - sentSecondsAgo * 1000), ApproximateReceiveCount: '3' },
  };
}

describe('describeMessage', () => {
  it('reads reason and codes from the attributes and the body', () => {
    const message = describeMessage(deadLetter('m1', 'validation_failed', ['too_small', 'invalid_type', 'too_small'], 60));
    expect(message.reason).toBe('validation_failed');
    expect(message.codes).toEqual(['too_small', 'invalid_type']);
    expect(message.sentAt?.toISOString()).toBe('2026-11-22T11:59:00.000Z');
    expect(message.receiveCount).toBe(3);
  });

  it('keeps a message whose body is not JSON, by its attributes', () => {
    const message = describeMessage({
      MessageId: 'x',
      Body: 'not json',
      MessageAttributes: { reason: { DataType: 'String', StringValue: 'unparseable' }, error_codes: { DataType: 'String', StringValue: 'a,b' } },
    });
    expect(message.parsed).toBeUndefined();
    expect(message.reason).toBe('unparseable');
    expect(message.codes).toEqual(['a', 'b']);
  });

  it('calls a message without a reason unknown', () => {
    expect(describeMessage({ MessageId: 'y', Body: '{}' }).reason).toBe('unknown');
  });
});

describe('groupDeadLetters', () => {
  const messages = [
    deadLetter('a', 'validation_failed', ['too_small'], 30),
    deadLetter('b', 'validation_failed', ['too_small', 'unrecognized_keys'], 7200),
    deadLetter('c', 'validation_failed', ['unrecognized_keys'], 90),
    deadLetter('d', 'unparseable', [], 10),
  ].map(describeMessage);

  it('counts by reason with the codes under each and the oldest age', () => {
    const stats = groupDeadLetters(messages, NOW, 2);
    expect(stats.total).toBe(4);
    expect(stats.oldest_age_seconds).toBe(7200);
    expect(stats.by_reason.map((g) => [g.key, g.count, g.oldest_age_seconds])).toEqual([
      ['validation_failed', 3, 7200],
      ['unparseable', 1, 10],
    ]);
    expect(stats.by_reason[0]?.breakdown).toEqual({ too_small: 2, unrecognized_keys: 2 });
    expect(stats.by_reason[1]?.breakdown).toEqual({ '(none)': 1 });
  });

  it('counts by error code with samples capped per group', () => {
    const stats = groupDeadLetters(messages, NOW, 1);
    expect(stats.by_code.map((g) => [g.key, g.count, g.oldest_age_seconds])).toEqual([
      ['too_small', 2, 7200],
      ['unrecognized_keys', 2, 7200],
    ]);
    expect(stats.by_code[0]?.samples).toEqual([
      { message_id: 'a', event_id: 'evt-a', age_seconds: 30, errors: [{ path: 'price', code: 'too_small', message: 'too_small happened' }] },
    ]);
  });

  it('is empty for no messages', () => {
    expect(groupDeadLetters([], NOW)).toEqual({ total: 0, oldest_age_seconds: undefined, by_reason: [], by_code: [] });
  });
});

describe('filters', () => {
  it('parses reason= and code= and refuses anything else', () => {
    expect(parseFilter('reason=validation_failed')).toEqual({ reason: 'validation_failed' });
    expect(parseFilter('code=too_small')).toEqual({ code: 'too_small' });
    expect(parseFilter(undefined)).toBeUndefined();
    expect(() => parseFilter('price=1')).toThrow(/--filter must be reason=<reason> or code=<error code>/);
  });

  it('matches on the reason or on any of the codes', () => {
    const m = { reason: 'validation_failed', codes: ['too_small', 'invalid_type'] };
    expect(matchesFilter(m, { reason: 'validation_failed' })).toBe(true);
    expect(matchesFilter(m, { reason: 'load_failed' })).toBe(false);
    expect(matchesFilter(m, { code: 'invalid_type' })).toBe(true);
    expect(matchesFilter(m, { code: 'too_big' })).toBe(false);
    expect(matchesFilter(m, undefined)).toBe(true);
  });
});

describe('listDeadLetters', () => {
  // Received out of age order, as SQS hands them out.
  const messages = [
    deadLetter('young', 'validation_failed', ['too_small'], 5),
    deadLetter('middle', 'validation_failed', ['too_small'], 60),
    deadLetter('unparseable', 'unparseable', [], 500),
    deadLetter('oldest', 'validation_failed', ['too_small'], 3600),
  ].map(describeMessage);

  it('shows the oldest N with --limit N, oldest first', () => {
    expect(listDeadLetters(messages, NOW, { limit: 2 }).map((row) => row.message_id)).toEqual(['oldest', 'unparseable']);
    expect(listDeadLetters(messages, NOW).map((row) => row.message_id)).toEqual(['oldest', 'unparseable', 'middle', 'young']);
  });

  it('filters before it limits', () => {
    const rows = listDeadLetters(messages, NOW, { filter: { reason: 'validation_failed' }, limit: 2 });
    expect(rows.map((row) => [row.message_id, row.age_seconds, row.reason, row.codes])).toEqual([
      ['oldest', 3600, 'validation_failed', ['too_small']],
      ['middle', 60, 'validation_failed', ['too_small']],
    ]);
  });
});
