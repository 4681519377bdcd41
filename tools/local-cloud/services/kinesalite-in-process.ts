import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type http from 'node:http';
import { loadActions } from './in-process-actions';
import { installFastSequences } from './kinesalite-sequences';

/**
 * kinesalite with a way in that skips its HTTP server: the endpoint hands the JSON-protocol
 * requests that every SDK sends (`application/x-amz-json-1.1`, signed) to kinesalite's own
 * validations and actions on the store its server uses, instead of proxying each one over a
 * second HTTP hop. Anything else (CBOR, a request without a signature, a body that is not a JSON
 * object, one over kinesalite's 7 MB) still goes to the server, which answers it as before. The
 * answers are kinesalite's own, as its server sends them in JSON.
 */

const require = createRequire(import.meta.url);

export const KINESIS_JSON = 'application/x-amz-json-1.1';
/** kinesalite answers 413 beyond this. */
const MAX_REQUEST_BYTES = 7 * 1024 * 1024;

type Store = { db: unknown };
type HttpServerFactory = (options: Record<string, unknown>) => http.Server;

/** The operations kinesalite implements (its server's list). */
const KINESALITE_OPERATIONS = [
  'AddTagsToStream',
  'CreateStream',
  'DeleteStream',
  'DescribeStream',
  'DescribeStreamSummary',
  'GetRecords',
  'GetShardIterator',
  'ListShards',
  'ListStreams',
  'ListTagsForStream',
  'MergeShards',
  'PutRecord',
  'PutRecords',
  'RemoveTagsFromStream',
  'SplitShard',
  'IncreaseStreamRetentionPeriod',
  'DecreaseStreamRetentionPeriod',
] as const;

export interface KinesisAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface Kinesalite {
  /** kinesalite's HTTP server (not yet listening), for what the in-process path does not take. */
  server: http.Server;
  /**
   * Whether `call` answers this request as kinesalite's server would: a signed POST of a known
   * operation in JSON within the size limit. The body still has to parse as a JSON object.
   */
  takes(req: http.IncomingMessage, operation: string): boolean;
  /** One JSON-protocol call on the server's store. */
  call(operation: string, body: Record<string, unknown>): Promise<KinesisAnswer>;
}

export function startKinesalite(options: Record<string, unknown>): Kinesalite {
  const db = require('kinesalite/db') as { create(options: Record<string, unknown>): Store };
  const kinesalite = require('kinesalite') as HttpServerFactory;
  installFastSequences();
  // kinesalite creates its store inside the server factory: keep the one it creates.
  const create = db.create;
  let store: Store | undefined;
  db.create = (storeOptions) => (store = create(storeOptions));
  let server: http.Server;
  try {
    server = kinesalite(options);
  } finally {
    db.create = create;
  }
  if (!store) throw new Error('kinesalite did not create its store');
  const serverStore = store;

  const actions = loadActions<Store>('kinesalite', KINESALITE_OPERATIONS);

  const takes = (req: http.IncomingMessage, operation: string): boolean => {
    const { headers } = req;
    if (req.method !== 'POST' || !actions.has(operation) || (req.url ?? '').includes('?')) return false;
    if (String(headers['content-type'] ?? '').split(';')[0]!.trim() !== KINESIS_JSON) return false;
    const length = Number(headers['content-length']);
    if (!(length > 0 && length <= MAX_REQUEST_BYTES)) return false;
    const authorization = headers.authorization;
    // kinesalite checks that the signature's parts are there, not that it is valid.
    if (typeof authorization !== 'string' || !(headers['x-amz-date'] || headers.date)) return false;
    return ['Credential=', 'Signature=', 'SignedHeaders='].every((part) => authorization.includes(part));
  };

  const call = async (operation: string, body: Record<string, unknown>): Promise<KinesisAnswer> =>
    (await actions.run(operation, serverStore, body, operation)) ?? { status: 400, body: { __type: 'UnknownOperationException' } };

  return { server, takes, call };
}

/** Sends an in-process answer with the headers kinesalite's server sets on a JSON answer. */
export function sendKinesis(res: http.ServerResponse, answer: KinesisAnswer): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': KINESIS_JSON, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  res.end(text);
}
