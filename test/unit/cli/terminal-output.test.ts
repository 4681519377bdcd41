import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  describeMessage,
  DLQ_COLUMN_WIDTHS,
  formatDeadLetter,
  formatDeadLetterList,
  formatDeadLetterStats,
  groupDeadLetters,
  listDeadLetters,
  shownDeadLetter,
} from '../../../tools/cli/dlq';
import { formatRedrive, type RedriveSummary } from '../../../tools/cli/redrive';
import { DEFAULT_THRESHOLDS, formatStatus, type StatusReport } from '../../../tools/cli/status';
import { escapeControl, idText, safeJson, terminalText } from '../../../tools/cli/terminal-text';

// Issue 9: client data (an event_id, a field name, an error message quoting it) printed by the
// operator's commands must not drive the terminal, nor widen every row of a table.

const NOW = new Date('2026-11-22T12:00:00.000Z');
const ESCAPES = '\u001b[2J\u001b]0;title\u0007';
const C1_AND_BIDI = 'a\u009b31mb\u202ec\u2066d\u2028e\u007ff\ud800g';
const LONG_ID = 'x'.repeat(5_000);

/** Anything a terminal acts on: C0 (ESC, BEL, CR, ...), DEL, C1 (CSI 0x9b, OSC 0x9d), bidi controls, separators, lone surrogates. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;

function expectSafe(text: string): void {
  expect(text).not.toMatch(UNSAFE);
  expect(text).not.toContain('\u001b');
  expect(text).not.toContain('\u0007');
}

const longestLine = (text: string) => Math.max(...text.split('\n').map((line) => Array.from(line).length));

function deadLetter(id: string, eventId: unknown, options: { field?: string; reason?: string; code?: string } = {}): Message {
  const field = options.field ?? 'colour';
  const errors = [{ path: field, code: options.code ?? 'unknown_field', message: `unknown field ${field}` }];
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: JSON.stringify({ reason: options.reason ?? 'validation_failed', errors, record: { event_id: eventId, [field]: 'red' }, source: {}, attempts: 1 }),
    MessageAttributes: {
      reason: { DataType: 'String', StringValue: options.reason ?? 'validation_failed' },
      error_codes: { DataType: 'String', StringValue: options.code ?? 'unknown_field' },
    },
    Attributes: { SentTimestamp: String(NOW.getTime() - 60_000), ApproximateReceiveCount: '1' },
  };
}

const hostile = [
  describeMessage(deadLetter('m-escape', ESCAPES, { field: ESCAPES })),
  describeMessage(deadLetter('m-long', LONG_ID)),
  describeMessage(deadLetter('m-number', 42)),
  describeMessage(deadLetter('m-c1', C1_AND_BIDI, { field: C1_AND_BIDI, reason: `bad${ESCAPES}`, code: `code${ESCAPES}` })),
  describeMessage(deadLetter('m-none', undefined)),
];

describe('terminal-text helpers', () => {
  it('escapes C0, C1, DEL, bidi controls, separators and lone surrogates visibly, and backslashes', () => {
    expect(escapeControl(ESCAPES)).toBe('\\x1b[2J\\x1b]0;title\\x07');
    expect(escapeControl(C1_AND_BIDI)).toBe('a\\x9b31mb\\u202ec\\u2066d\\u2028e\\x7ff\\ud800g');
    expect(escapeControl('a\\x1b')).toBe('a\\\\x1b');
    expect(escapeControl('café 日本 😀')).toBe('café 日本 😀');
  });

  it('cuts with an ellipsis after escaping', () => {
    expect(terminalText(LONG_ID, 40)).toBe(`${'x'.repeat(39)}…`);
    expect(Array.from(terminalText(ESCAPES.repeat(20), 40))).toHaveLength(40);
  });

  it('shows an id that is not a string as its JSON, an absent one as -', () => {
    expect(idText(42)).toBe('42');
    expect(idText(null)).toBe('null');
    expect(idText({ a: ESCAPES })).toBe('{"a":"\\\\u001b[2J\\\\u001b]0;title\\\\u0007"}');
    expect(idText(undefined)).toBe('-');
    expect(idText('evt-1')).toBe('evt-1');
  });

  it('safeJson is the same JSON value with what JSON.stringify leaves raw escaped', () => {
    const value = { id: C1_AND_BIDI, [ESCAPES]: [LONG_ID, 42, null] };
    const text = safeJson(value, 2);
    expectSafe(text);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('dlq list', () => {
  const rows = listDeadLetters(hostile, NOW);
  const output = formatDeadLetterList(rows);

  it('escapes the id and first-error columns, bounds every column and shows a number id', () => {
    expectSafe(output);
    expect(output).toContain('\\x1b[2J\\x1b]0;title\\x07');
    expect(output).toContain(`${'x'.repeat(DLQ_COLUMN_WIDTHS.eventId - 1)}…`);
    expect(output).not.toContain('x'.repeat(DLQ_COLUMN_WIDTHS.eventId));
    const numberRow = output.split('\n').find((line) => line.startsWith('m-number'));
    expect(numberRow).toMatch(/\s42\s/);
    expect(output.split('\n').find((line) => line.startsWith('m-none'))).toMatch(/\s-\s/);
    const widths = DLQ_COLUMN_WIDTHS;
    expect(longestLine(output)).toBeLessThanOrEqual(widths.messageId + 8 + widths.reason + widths.codes + widths.eventId + widths.firstError + 5 * 2);
  });

  it('keeps the data exact in --json (the JSON text itself escaped)', () => {
    const text = safeJson(rows, 2);
    expectSafe(text);
    const parsed = JSON.parse(text) as Array<{ message_id: string; event_id?: unknown }>;
    expect(parsed.find((r) => r.message_id === 'm-escape')?.event_id).toBe(ESCAPES);
    expect(parsed.find((r) => r.message_id === 'm-long')?.event_id).toBe(LONG_ID);
    expect(parsed.find((r) => r.message_id === 'm-number')?.event_id).toBe(42);
    expect(parsed.find((r) => r.message_id === 'm-c1')?.event_id).toBe(C1_AND_BIDI);
  });
});

describe('dlq stats', () => {
  it('escapes and bounds the reasons, codes and samples, and shows a number id', () => {
    const output = formatDeadLetterStats(groupDeadLetters(hostile, NOW, 3));
    expectSafe(output);
    expect(output).toContain('bad\\x1b[2J');
    expect(longestLine(output)).toBeLessThanOrEqual(DLQ_COLUMN_WIDTHS.reason + 6 + 8 + DLQ_COLUMN_WIDTHS.sample + 3 * 2);
    const numberOnly = formatDeadLetterStats(groupDeadLetters([hostile[2]!], NOW));
    expect(numberOnly).toContain('42: unknown field colour');
  });
});

describe('dlq show', () => {
  it('shows the message in full with every control character escaped', () => {
    const output = formatDeadLetter(shownDeadLetter(hostile[3]!));
    expectSafe(output);
    expect(output).toContain('reason=bad\\x1b[2J');
    // The body is JSON: the same data, parseable.
    const body = output.slice(output.indexOf('{'));
    expect((JSON.parse(body) as { record: { event_id: string } }).record.event_id).toBe(C1_AND_BIDI);
  });

  it('shows a body that is not JSON as an escaped JSON string', () => {
    const output = formatDeadLetter(shownDeadLetter(describeMessage({ MessageId: 'raw', Body: `not json ${ESCAPES}` })));
    expectSafe(output);
    expect(output).toContain('"not json \\u001b[2J');
  });
});

describe('redrive --dry-run', () => {
  it('escapes and bounds every value it lists, and shows a number id', () => {
    const summary: RedriveSummary = {
      path: 'dry-run',
      moved: 0,
      skipped: 0,
      notDeleted: 0,
      failed: 0,
      byReason: {},
      wouldMove: hostile.map((m) => ({ message_id: m.messageId, reason: m.reason, codes: m.codes, event_id: listDeadLetters([m], NOW)[0]!.event_id })),
    };
    const output = formatRedrive(summary);
    expectSafe(output);
    expect(output).toContain('\\x1b[2J\\x1b]0;title\\x07');
    expect(output.split('\n').find((line) => line.includes('m-number'))).toMatch(/ 42$/);
    expect(longestLine(output)).toBeLessThan(200);
  });

  it('escapes the reasons of a real run', () => {
    const output = formatRedrive({ path: 'copy', pathReason: '--mode copy', moved: 1, skipped: 0, notDeleted: 0, failed: 0, byReason: { [ESCAPES]: 1 } });
    expectSafe(output);
    expect(output).toContain('moved by reason: \\x1b[2J');
  });
});

describe('status', () => {
  it('escapes every reason line', () => {
    const report: StatusReport = {
      status: 'DEGRADED',
      reasons: [{ severity: 'warn', message: `last stored event: ${ESCAPES}` }],
      signals: { source: 'local-counters', counts: {}, dlqDepth: 0 },
      thresholds: DEFAULT_THRESHOLDS,
    };
    const output = formatStatus(report);
    expectSafe(output);
    expect(output).toBe('DEGRADED  (local-counters)\n ~ last stored event: \\x1b[2J\\x1b]0;title\\x07');
  });
});
