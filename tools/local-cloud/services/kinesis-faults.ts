import { createDecipheriv, createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { FaultController } from '../fault-set';
import type { UpstreamAnswer } from './upstream';

/**
 * Kinesis faults, answered as Kinesis answers (API reference: PutRecords, PutRecordsResultEntry,
 * PutRecord, GetRecords):
 *
 * - `putRecordsEntryFailure`, per PutRecords entry: the entry is not written and comes back as
 *   `{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard
 *   <shardId> in stream <name> under account <id>."}` in request order, `FailedRecordCount`
 *   counting it; only the other entries reach kinesalite. Every entry failing is still a 200.
 *   PutRecord (one record) fails as a request: HTTP 400 ProvisionedThroughputExceededException.
 * - `getRecordsThrottle`, per GetRecords request: HTTP 400 ProvisionedThroughputExceededException
 *   "Rate exceeded for Shard - <account>/<stream>/<shardId>".
 */

const require = createRequire(import.meta.url);
/** kinesalite's own iterator key: a GetRecords fault names the iterator's stream and shard, as AWS does. */
const kinesaliteDb = require('kinesalite/db') as { ITERATOR_PWD_KEY: Buffer; ITERATOR_PWD_IV: Buffer };

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const SHARD_CACHE_MS = 10_000;

interface Shard {
  ShardId: string;
  HashKeyRange: { StartingHashKey: string; EndingHashKey: string };
  SequenceNumberRange?: { EndingSequenceNumber?: string };
}

interface PutRecordsEntry {
  PartitionKey?: string;
  ExplicitHashKey?: string;
}

export type KinesisCall = (operation: string, body: Record<string, unknown>) => Promise<{ status: number; body: Record<string, unknown> }>;
export type Forward = (payload: Buffer) => Promise<UpstreamAnswer>;

export interface KinesisFaultsOptions {
  faults: FaultController;
  accountId: string;
  /** A call to kinesalite (ListShards, to name the shard a failed record was meant for). */
  call: KinesisCall;
}

function json(status: number, body: unknown): UpstreamAnswer {
  return { status, headers: { 'content-type': CONTENT_TYPE }, body: Buffer.from(JSON.stringify(body)) };
}

function throughputExceeded(message: string): UpstreamAnswer {
  return json(400, { __type: 'ProvisionedThroughputExceededException', message });
}

/** The stream a request names, by StreamName or by StreamARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`). */
function streamNameOf(body: Record<string, unknown>): string | undefined {
  if (typeof body.StreamName === 'string') return body.StreamName;
  if (typeof body.StreamARN === 'string') return body.StreamARN.slice(body.StreamARN.indexOf(':stream/') + ':stream/'.length);
  return undefined;
}

/** A record's hash key: its ExplicitHashKey, else the MD5 of its partition key as a 128-bit number (as Kinesis maps keys to shards). */
function hashKeyOf(entry: PutRecordsEntry): bigint {
  if (typeof entry.ExplicitHashKey === 'string' && /^\d+$/.test(entry.ExplicitHashKey)) return BigInt(entry.ExplicitHashKey);
  return BigInt(`0x${createHash('md5').update(entry.PartitionKey ?? '', 'utf8').digest('hex')}`);
}

/** kinesalite iterators are `<time>/<stream>/<shardId>/<seq>/...`, AES-encrypted after an 8-byte header. */
function decodeIterator(iterator: unknown): { stream: string; shardId: string } | undefined {
  if (typeof iterator !== 'string') return undefined;
  try {
    const decipher = createDecipheriv('aes-256-cbc', kinesaliteDb.ITERATOR_PWD_KEY, kinesaliteDb.ITERATOR_PWD_IV);
    const buffer = Buffer.from(iterator, 'base64');
    const pieces = Buffer.concat([decipher.update(buffer.subarray(8)), decipher.final()]).toString('utf8').split('/');
    return pieces.length >= 3 ? { stream: pieces[1]!, shardId: pieces[2]! } : undefined;
  } catch {
    return undefined;
  }
}

export function createKinesisFaults(options: KinesisFaultsOptions) {
  const { faults, accountId, call } = options;
  const shardCache = new Map<string, { shards: Shard[]; until: number }>();

  /** The stream's open shards, or kinesalite's error answer (e.g. ResourceNotFoundException). */
  const openShards = async (stream: string): Promise<Shard[] | UpstreamAnswer> => {
    const cached = shardCache.get(stream);
    if (cached && cached.until > Date.now()) return cached.shards;
    const answer = await call('ListShards', { StreamName: stream });
    if (answer.status !== 200) return json(answer.status, answer.body);
    const shards = ((answer.body.Shards ?? []) as Shard[]).filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined);
    shardCache.set(stream, { shards, until: Date.now() + SHARD_CACHE_MS });
    return shards;
  };

  const shardFor = (shards: Shard[], entry: PutRecordsEntry): string => {
    const hash = hashKeyOf(entry);
    const shard = shards.find((s) => BigInt(s.HashKeyRange.StartingHashKey) <= hash && hash <= BigInt(s.HashKeyRange.EndingHashKey));
    return shard?.ShardId ?? shards[0]?.ShardId ?? 'shardId-000000000000';
  };

  const rateExceeded = (shardId: string, stream: string) => `Rate exceeded for shard ${shardId} in stream ${stream} under account ${accountId}.`;

  async function putRecords(body: Record<string, unknown>, raw: Buffer, forward: Forward): Promise<UpstreamAnswer> {
    const records = body.Records;
    const stream = streamNameOf(body);
    if (!Array.isArray(records) || records.length === 0 || stream === undefined) return forward(raw);
    const failed = records.map(() => faults.kinesisPutEntryFailure());
    if (!failed.includes(true)) return forward(raw);

    const shards = await openShards(stream);
    if (!Array.isArray(shards)) return shards;
    const survivors = records.filter((_, index) => !failed[index]);
    let written: Array<Record<string, unknown>> = [];
    let upstreamFailed = 0;
    let encryption: unknown;
    if (survivors.length > 0) {
      const answer = await forward(Buffer.from(JSON.stringify({ ...body, Records: survivors })));
      if (answer.status !== 200) return answer;
      const result = JSON.parse(answer.body.toString('utf8')) as { Records?: Array<Record<string, unknown>>; FailedRecordCount?: number; EncryptionType?: unknown };
      written = result.Records ?? [];
      upstreamFailed = result.FailedRecordCount ?? 0;
      encryption = result.EncryptionType;
    }
    let next = 0;
    const merged = records.map((record: PutRecordsEntry, index) =>
      failed[index]
        ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: rateExceeded(shardFor(shards, record), stream) }
        : written[next++],
    );
    const injected = failed.filter(Boolean).length;
    return json(200, { FailedRecordCount: upstreamFailed + injected, Records: merged, ...(encryption !== undefined ? { EncryptionType: encryption } : {}) });
  }

  async function putRecord(body: Record<string, unknown>, raw: Buffer, forward: Forward): Promise<UpstreamAnswer> {
    const stream = streamNameOf(body);
    if (stream === undefined || !faults.kinesisPutEntryFailure()) return forward(raw);
    const shards = await openShards(stream);
    if (!Array.isArray(shards)) return shards;
    return throughputExceeded(rateExceeded(shardFor(shards, body as PutRecordsEntry), stream));
  }

  async function getRecords(body: Record<string, unknown>, raw: Buffer, forward: Forward): Promise<UpstreamAnswer> {
    const named = decodeIterator(body.ShardIterator);
    if (named === undefined || !faults.kinesisGetRecordsThrottle()) return forward(raw);
    return throughputExceeded(`Rate exceeded for Shard - ${accountId}/${named.stream}/${named.shardId}`);
  }

  return {
    /** Only these requests are read by the endpoint; the rest stream straight to kinesalite. */
    concerns(operation: string, contentType: string): boolean {
      if (!faults.any || !contentType.startsWith(CONTENT_TYPE)) return false;
      if (operation === 'PutRecords' || operation === 'PutRecord') return faults.configured('kinesis.putRecordsEntryFailure');
      if (operation === 'GetRecords') return faults.configured('kinesis.getRecordsThrottle');
      return false;
    },

    async handle(operation: string, raw: Buffer, forward: Forward): Promise<UpstreamAnswer> {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return forward(raw);
      }
      if (operation === 'PutRecords') return putRecords(body, raw, forward);
      if (operation === 'PutRecord') return putRecord(body, raw, forward);
      return getRecords(body, raw, forward);
    },
  };
}
