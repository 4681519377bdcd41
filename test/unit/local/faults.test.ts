import { describe, expect, it, vi } from 'vitest';
import { payloadTexts, withFaults } from '../../../tools/local-cloud/faults';
import type { Invoker } from '../../../tools/local-cloud/types';

const kinesisEvent = (...texts: string[]) => ({
  Records: texts.map((t) => ({ kinesis: { data: Buffer.from(t).toString('base64') } })),
});

describe('withFaults', () => {
  const inner: Invoker = { invoke: vi.fn(async () => ({ ok: true as const, payload: 'ran', durationMs: 1 })) };

  it('fails the matching function when a Kinesis record carries the marker', async () => {
    const invoker = withFaults(inner, [{ functionName: 'Loader', whenPayloadContains: 'POISON' }]);
    const result = await invoker.invoke('EcommercePipeline-local-Loader-ABC', kinesisEvent('{"a":1}', '{"p":"POISON"}'));
    expect(result).toMatchObject({ ok: false, errorType: 'InjectedFault' });
    expect(inner.invoke).not.toHaveBeenCalled();
  });

  it('passes through other functions and clean batches', async () => {
    const invoker = withFaults(inner, [{ functionName: 'Loader', whenPayloadContains: 'POISON' }]);
    await expect(invoker.invoke('x-Validator-1', kinesisEvent('POISON'))).resolves.toMatchObject({ ok: true });
    await expect(invoker.invoke('x-Loader-1', kinesisEvent('clean'))).resolves.toMatchObject({ ok: true });
  });

  it('reads SQS bodies and base64 API bodies', () => {
    expect(payloadTexts({ Records: [{ body: 'hello' }] })).toEqual(['hello']);
    expect(payloadTexts({ body: Buffer.from('hi').toString('base64'), isBase64Encoded: true })).toEqual(['hi']);
  });
});
