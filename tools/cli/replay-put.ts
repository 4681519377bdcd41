import { PutRecordsCommand, type KinesisClient, type _Record } from '@aws-sdk/client-kinesis';
import { validateEvent } from '../../lambdas/shared/events';
import { PUT_RECORDS_LIMITS } from '../../lambdas/shared/delivery';
import { RawRecordSchema } from '../../lambdas/shared/records';
import { deliverInChunks, type RetryPolicy } from '../../lambdas/shared/retry';

/**
 * What every replay does with the records it puts back, wherever it read them (a stream range,
 * the StreamFailureQueue's ranges or the raw archive): vet each raw record, mark it with
 * `replayed_at`, and put it back on the raw stream.
 */

const PUT_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 3_000, budgetMs: 60_000 };

export const compareSequence = (a: string, b: string) => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

export type RawRecordVerdict =
  | { put: true; data: Uint8Array }
  | { put: false; why: 'invalid'; codes: string[] }
  | { put: false; why: 'unparseable' };

/**
 * What a replay of the raw stream does with one record. The validator has seen it already: if
 * its event was invalid, it is in the DeadLetterQueue from that first pass (and one that is not a
 * raw record envelope was dead-lettered as unparseable), so putting it back would only add a
 * duplicate dead letter. Such records are left out (unless includeInvalid); the event is judged
 * with the project's own schemas against the envelope's received_at, as the validator does.
 * Every record put back carries a top-level `replayed_at`, so the validator counts it as
 * EventsReplayed rather than first-pass EventsValid / EventsInvalid.
 */
export function vetRawRecord(data: Uint8Array, options: { includeInvalid: boolean; now: Date }): RawRecordVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return options.includeInvalid ? { put: true, data } : { put: false, why: 'unparseable' };
  }
  const envelope = RawRecordSchema.safeParse(parsed);
  if (!envelope.success) {
    if (!options.includeInvalid) return { put: false, why: 'unparseable' };
    return { put: true, data: isObject(parsed) ? marked(parsed, options.now) : data };
  }
  if (!options.includeInvalid) {
    const verdict = validateEvent(envelope.data.event, new Date(envelope.data.received_at));
    if (!verdict.ok) return { put: false, why: 'invalid', codes: [...new Set(verdict.errors.map((e) => e.code))] };
  }
  return { put: true, data: marked(parsed as Record<string, unknown>, options.now) };
}

function marked(record: Record<string, unknown>, now: Date): Uint8Array {
  return Buffer.from(JSON.stringify({ ...record, replayed_at: now.toISOString() }), 'utf8');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Puts records back on a stream (same Data and PartitionKey), in PutRecords chunks, retrying
 * failed entries. `written` keeps the first sequence number written per shard (a stream replay
 * stops reading there); `pipeline replay --from-archive` puts through here too (tools/cli/archive.ts).
 */
export async function putBack(
  kinesis: KinesisClient,
  streamName: string,
  records: ReadonlyArray<Pick<_Record, 'Data' | 'PartitionKey'>>,
  written: Map<string, string>,
): Promise<{ ok: number; failed: number }> {
  const delivered = await deliverInChunks(records, {
    limits: { ...PUT_RECORDS_LIMITS, sizeOf: (r) => (r.Data?.byteLength ?? 0) + Buffer.byteLength(r.PartitionKey ?? '') },
    policy: PUT_POLICY,
    sendChunk: async (chunk) => {
      const result = await kinesis.send(
        new PutRecordsCommand({
          StreamName: streamName,
          Records: chunk.map((r) => ({ Data: r.Data, PartitionKey: r.PartitionKey })),
        }),
      );
      return (result.Records ?? []).map((entry) => {
        if (entry.ErrorCode || !entry.SequenceNumber || !entry.ShardId) return false;
        const first = written.get(entry.ShardId);
        if (!first || compareSequence(entry.SequenceNumber, first) < 0) written.set(entry.ShardId, entry.SequenceNumber);
        return true;
      });
    },
  });
  const ok = delivered.filter(Boolean).length;
  return { ok, failed: delivered.length - ok };
}
