import { describe, expect, it } from 'vitest';
import { sqsSafeJson } from '../../../lambdas/shared/delivery';

// SQS's allowed characters: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
const SQS_ALLOWED = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

describe('sqsSafeJson', () => {
  it('writes U+FFFE and U+FFFF as escapes, so SQS accepts the body and it parses to the same value', () => {
    const value = { category: 'bad\uffffvalue', note: 'x\ufffe', emoji: '🛒', control: '\u0001', lone: '\ud800' };
    const body = sqsSafeJson(value);
    expect(SQS_ALLOWED.test(body)).toBe(true);
    expect(JSON.parse(body)).toEqual(value);
    expect(JSON.stringify(value)).not.toMatch(SQS_ALLOWED); // plain JSON would be refused
  });

  it('is plain JSON for ordinary values', () => {
    const value = { reason: 'validation_failed', errors: [{ path: 'price', code: 'too_small' }] };
    expect(sqsSafeJson(value)).toBe(JSON.stringify(value));
  });
});
