/**
 * Handing a list of entries to a batch API (Kinesis PutRecords, SQS SendMessageBatch) in
 * bounded chunks, resending only the entries that failed, with capped exponential backoff and
 * full jitter inside a time budget. A caller learns per entry whether it was delivered.
 */

export interface RetryPolicy {
  /** Attempts per entry, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No new attempt starts once this much time has passed since the first one. */
  budgetMs: number;
}

export interface RetryClock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  budgetMs: 3_000,
};

export const systemClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

export interface ChunkLimits<T> {
  maxCount: number;
  maxBytes: number;
  sizeOf: (entry: T) => number;
}

export interface Chunking<T> {
  chunks: T[][];
  /** Entries that exceed maxBytes on their own: no request could ever carry them. */
  oversized: T[];
}

/** Greedy, order-preserving split into chunks that respect both the count and the byte limit. */
export function chunkByLimits<T>(entries: readonly T[], limits: ChunkLimits<T>): Chunking<T> {
  const chunks: T[][] = [];
  const oversized: T[] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    const size = limits.sizeOf(entry);
    if (size > limits.maxBytes) {
      oversized.push(entry);
      continue;
    }
    if (current.length >= limits.maxCount || currentBytes + size > limits.maxBytes) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return { chunks, oversized };
}

/**
 * Capped exponential backoff before retry number `retry` (1 for the first retry): `baseMs`,
 * then doubling, never over `maxMs`. The one formula of every retry loop here: backoffDelay
 * draws a full-jitter delay under it (the functions, the CLI's AWS calls); `pipeline send`'s
 * resends and the local cloud's Kinesis mapping (as Lambda retries) wait it as is.
 */
export function exponentialDelay(retry: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** (retry - 1));
}

/** Full-jitter backoff before retry number `retry` (1 for the first retry). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = exponentialDelay(retry, policy.baseDelayMs, policy.maxDelayMs);
  return Math.floor(random() * ceiling);
}

export interface DeliveryOptions<T> {
  limits: ChunkLimits<T>;
  /**
   * Sends one chunk in one request; resolves to one flag per entry (true = delivered).
   * A rejection means every entry of that chunk failed (throttling, network, 5xx).
   */
  sendChunk: (chunk: T[]) => Promise<boolean[]>;
  policy?: RetryPolicy;
  clock?: RetryClock;
  /** Told about request-level errors and oversized entries, for logging. */
  onError?: (error: unknown, entries: readonly T[]) => void;
}

/**
 * Delivers `entries` and returns, in the same order, whether each one was delivered.
 * Each attempt sends the still-pending entries' chunks concurrently; only failed entries are
 * sent again.
 */
export async function deliverInChunks<T>(entries: readonly T[], options: DeliveryOptions<T>): Promise<boolean[]> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const clock = options.clock ?? systemClock;
  const delivered = entries.map(() => false);
  const { chunks: firstChunks, oversized } = chunkByLimits(
    entries.map((entry, index) => ({ entry, index })),
    { ...options.limits, sizeOf: ({ entry }) => options.limits.sizeOf(entry) },
  );
  if (oversized.length > 0) {
    options.onError?.(
      new Error(`${oversized.length} entries exceed the ${options.limits.maxBytes}-byte request limit`),
      oversized.map(({ entry }) => entry),
    );
  }

  const startedAt = clock.now();
  let chunks = firstChunks;
  for (let attempt = 1; chunks.length > 0; attempt++) {
    const outcomes = await Promise.all(chunks.map((chunk) => sendSafely(chunk, options)));
    const failed = outcomes.flat().filter(({ ok, item }) => {
      if (ok) delivered[item.index] = true;
      return !ok;
    });
    if (failed.length === 0 || attempt >= policy.maxAttempts) break;
    const delay = backoffDelay(attempt, policy, clock.random);
    if (clock.now() + delay - startedAt > policy.budgetMs) break;
    await clock.sleep(delay);
    chunks = chunkByLimits(
      failed.map(({ item }) => item),
      { ...options.limits, sizeOf: ({ entry }) => options.limits.sizeOf(entry) },
    ).chunks;
  }
  return delivered;
}

async function sendSafely<T>(
  chunk: Array<{ entry: T; index: number }>,
  options: DeliveryOptions<T>,
): Promise<Array<{ ok: boolean; item: { entry: T; index: number } }>> {
  const entries = chunk.map(({ entry }) => entry);
  try {
    const flags = await options.sendChunk(entries);
    return chunk.map((item, position) => ({ ok: flags[position] === true, item }));
  } catch (error) {
    options.onError?.(error, entries);
    return chunk.map((item) => ({ ok: false, item }));
  }
}
