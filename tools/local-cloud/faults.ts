import type { InvokeResult, Invoker } from './types';

/**
 * Fault injection for the local cloud: make a function fail as if it had crashed whenever the
 * batch it is handed carries a marker. The event source mapping then sees a function error and
 * applies the template's retry, bisect and on-failure settings, which is what we want to prove.
 *
 * This marker rule fails the invocation before the function runs. Random crashes and timeouts of
 * a running function (part of its side effects done) come from the FaultController the Lambda
 * runtime is given (`lambda.crash` / `lambda.timeout` in fault-set.ts).
 */
export interface FaultRule {
  /** Matches the invoked function's name or ARN by substring (e.g. the construct id `Loader`). */
  functionName: string;
  /** Fail when any record of the event (Kinesis data decoded, SQS body, API body) contains this. */
  whenPayloadContains: string;
  /** The error message the simulated crash reports. */
  message?: string;
}

export function payloadTexts(event: unknown): string[] {
  const records = (event as { Records?: unknown[] } | null)?.Records;
  if (Array.isArray(records)) {
    return records.map((record) => {
      const r = record as { kinesis?: { data?: string }; body?: string };
      if (typeof r.kinesis?.data === 'string') return Buffer.from(r.kinesis.data, 'base64').toString('utf8');
      if (typeof r.body === 'string') return r.body;
      return JSON.stringify(record);
    });
  }
  const body = (event as { body?: unknown; isBase64Encoded?: boolean } | null)?.body;
  if (typeof body === 'string') {
    const isBase64 = (event as { isBase64Encoded?: boolean }).isBase64Encoded === true;
    return [isBase64 ? Buffer.from(body, 'base64').toString('utf8') : body];
  }
  return [JSON.stringify(event)];
}

export function withFaults(invoker: Invoker, rules: readonly FaultRule[]): Invoker {
  if (rules.length === 0) return invoker;
  return {
    async invoke(functionName: string, event: unknown): Promise<InvokeResult> {
      const rule = rules.find((r) => functionName.includes(r.functionName));
      if (rule && payloadTexts(event).some((text) => text.includes(rule.whenPayloadContains))) {
        return {
          ok: false,
          errorType: 'InjectedFault',
          errorMessage: rule.message ?? `injected fault: payload contains ${rule.whenPayloadContains}`,
          durationMs: 0,
        };
      }
      return invoker.invoke(functionName, event);
    },
  };
}
