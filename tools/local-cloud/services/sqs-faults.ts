import type { FaultController } from '../fault-set';

/**
 * SQS faults (`sqs.sendEntryFailure`), answered as SQS answers:
 *
 * - SendMessageBatch, per entry: the entry is not sent and comes back in `Failed` as a
 *   BatchResultErrorEntry `{Id, SenderFault: false, Code: "InternalFailure", Message}` (API
 *   reference: BatchResultErrorEntry; SenderFault false = not the caller's fault, so retry it);
 *   only the other entries reach fauxqs. Every entry failing is still a 200.
 * - SendMessage, per request: HTTP 500 InternalFailure, the common error AWS documents for "the
 *   request processing has failed because of an unknown error" (SQS API reference, Common
 *   Errors), with the `x-amzn-query-error: InternalFailure;Receiver` header the JSON protocol
 *   carries for query-compatible clients.
 */

export interface SqsAnswer {
  status: number;
  text: string;
  queryError?: string;
}

export type SqsSend = (body: Record<string, unknown>) => Promise<SqsAnswer>;

const INTERNAL_FAILURE_MESSAGE = 'The request processing has failed because of an unknown error, exception or failure.';

export function internalFailure(): SqsAnswer {
  return {
    status: 500,
    text: JSON.stringify({ __type: 'com.amazon.coral.service#InternalFailure', message: INTERNAL_FAILURE_MESSAGE }),
    queryError: 'InternalFailure;Receiver',
  };
}

/** Sends through `send`, failing the requests or entries the fault set picks. */
export async function withSqsSendFaults(faults: FaultController, action: string, body: Record<string, unknown>, send: SqsSend): Promise<SqsAnswer> {
  if (!faults.configured('sqs.sendEntryFailure')) return send(body);
  if (action === 'SendMessage') return faults.sqsSendEntryFailure() ? internalFailure() : send(body);
  if (action !== 'SendMessageBatch' || !Array.isArray(body.Entries) || body.Entries.length === 0) return send(body);

  const entries = body.Entries as Array<{ Id?: unknown }>;
  const failed = entries.map(() => faults.sqsSendEntryFailure());
  if (!failed.includes(true)) return send(body);
  const survivors = entries.filter((_, index) => !failed[index]);
  const injected = entries
    .filter((_, index) => failed[index])
    .map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'InternalFailure', Message: INTERNAL_FAILURE_MESSAGE }));

  let result: { Successful?: unknown[]; Failed?: unknown[] } = { Successful: [], Failed: [] };
  if (survivors.length > 0) {
    const answer = await send({ ...body, Entries: survivors });
    if (answer.status !== 200) return answer;
    result = JSON.parse(answer.text) as typeof result;
  }
  return { status: 200, text: JSON.stringify({ ...result, Successful: result.Successful ?? [], Failed: [...(result.Failed ?? []), ...injected] }) };
}
