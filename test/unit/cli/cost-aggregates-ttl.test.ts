import { describe, expect, it } from 'vitest';
import { firstHourWithinTtl } from '../../../tools/cli/aggregates';

// With eventsTtlDays, `pipeline aggregates verify|rebuild` compare only the hours none of whose
// events can have expired (README: "Expired events and the aggregates").
describe('firstHourWithinTtl', () => {
  it('starts more than N days (plus the 5-minute clock skew) after now - N days', () => {
    // now - 7 days = 2026-11-23T10:58Z; + 2 h = 12:58 -> hour 12: starts 1 h 2 min after the boundary.
    expect(firstHourWithinTtl(new Date('2026-11-30T10:58:00Z'), 7)).toBe('HOUR#2026-11-23T12');
    // now - 1 day = 2026-11-29T10:00Z exactly; hour 12 starts 2 h after it.
    expect(firstHourWithinTtl(new Date('2026-11-30T10:00:00Z'), 1)).toBe('HOUR#2026-11-29T12');
  });
});
