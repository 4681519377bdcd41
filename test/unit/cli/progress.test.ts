import { describe, expect, it } from 'vitest';
import { createProgress } from '../../../tools/cli/progress';

function fakeStream(isTTY: boolean) {
  const lines: string[] = [];
  return { stream: { isTTY, write: (text: string) => lines.push(text) } as unknown as NodeJS.WriteStream, lines };
}

describe('createProgress without a terminal', () => {
  it('prints a line per quarter, never the same quarter twice', () => {
    const { stream, lines } = fakeStream(false);
    const progress = createProgress({ label: 'send', total: 100, stream });
    for (let i = 0; i < 10; i++) progress.increment(10, `batch ${i}`);
    expect(lines).toEqual(['send: 30/100 (batch 2)\n', 'send: 50/100 (batch 4)\n', 'send: 80/100 (batch 7)\n', 'send: 100/100 (batch 9)\n']);
  });

  it('prints once when one step finishes everything', () => {
    const { stream, lines } = fakeStream(false);
    const progress = createProgress({ label: 'send', total: 2, stream });
    progress.increment(2);
    expect(lines).toEqual(['send: 2/2\n']);
  });

  it('prints nothing when disabled', () => {
    const { stream, lines } = fakeStream(false);
    createProgress({ label: 'x', total: 1, stream, enabled: false }).increment(1);
    expect(lines).toEqual([]);
  });
});
