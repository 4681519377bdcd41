import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalCloud, type LocalCloud } from '../tools/local-cloud/cloud';
import { profiled } from './profile';
import { percentile, ratePerSecond } from './stats';
import { trafficEvents } from './records';

/**
 * End to end on the embedded local cloud (real HTTP, the synthesized bundles, the emulators):
 * - sustained: N events posted as fast as the API takes them (a few concurrent requests of 500),
 *   timed from the first POST until the loader's `EventsStored` counter covers every accepted
 *   valid event;
 * - latency: a fixed offered rate (batches of 100 every 100 ms); a sample of accepted valid
 *   event_ids is polled with BatchGetItem every 100 ms, and each event's latency is the time the
 *   poll that first found it answered minus the time its POST answered (an upper bound, within
 *   one poll interval plus one BatchGetItem).
 * While it runs, the peak RSS (VmHWM) of every execution environment of the local Lambda runtime
 * is read from /proc.
 */

export type E2eResult = {
  events_per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  offered_rate: number;
  sustained: { cpu_seconds: Record<string, number>; events: number; valid_accepted: number; stored: number; seconds: number; requests: number; resends: number; complete: boolean };
  latency: { target_rate: number; seconds: number; events: number; sampled: number; found: number; max_ms: number; method: string };
};

export interface CloudRun {
  e2e: E2eResult;
  /** Peak RSS in MB per function name, over every execution environment the local cloud ran. */
  peakRssMb: Record<string, number>;
  cdkOut: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `Collector234448EC` -> `Collector`. */
export function functionNameOf(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

interface PostOutcome {
  /** event_ids accepted as valid, with the time the POST that accepted them answered. */
  acceptedValid: Array<{ id: string; at: number }>;
  acceptedInvalid: number;
  requests: number;
  resends: number;
}

/** Posts a batch as a careful producer does: `retry` items (and failed requests) are resent with their event_id. */
async function post(ingestUrl: string, apiKey: string, events: Array<Record<string, unknown>>): Promise<PostOutcome> {
  const outcome: PostOutcome = { acceptedValid: [], acceptedInvalid: 0, requests: 0, resends: 0 };
  let pending = events;
  for (let round = 0; pending.length > 0; round += 1) {
    if (round >= 30) throw new Error(`${pending.length} event(s) not accepted after 30 rounds`);
    if (round > 0) {
      outcome.resends += 1;
      await sleep(Math.min(1_000, 50 * 2 ** round));
    }
    outcome.requests += 1;
    let answer: { results?: Array<{ index: number; event_id: string; status: string; valid?: boolean }> };
    let status: number;
    try {
      const response = await fetch(`${ingestUrl}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
        body: JSON.stringify({ events: pending }),
        signal: AbortSignal.timeout(60_000),
      });
      status = response.status;
      answer = (await response.json()) as typeof answer;
    } catch {
      continue;
    }
    const at = performance.now();
    if (status === 429 || !answer.results) continue;
    const retry: Array<Record<string, unknown>> = [];
    for (const result of answer.results) {
      if (result.status === 'accepted') {
        if (result.valid === true) outcome.acceptedValid.push({ id: result.event_id, at });
        else outcome.acceptedInvalid += 1;
      } else if (result.status === 'retry') retry.push({ ...pending[result.index]!, event_id: result.event_id });
    }
    pending = retry;
  }
  return outcome;
}

/**
 * Peak RSS and CPU time of the local Lambda runtime's execution environments (children of this
 * process), by function, read from /proc.
 */
class RssWatcher {
  readonly peakMb: Record<string, number> = {};
  /** Last CPU seconds (user + system) seen per pid, with its function. */
  private readonly cpuByPid = new Map<string, { fn: string; seconds: number }>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly byAssetDir: Map<string, string>) {}

  sample(): void {
    let pids: string[];
    try {
      pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
    } catch {
      return; // no /proc: nothing to report
    }
    for (const pid of pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ppid = Number(fields[1]);
        if (ppid !== process.pid) continue;
        const fn = this.byAssetDir.get(path.resolve(readlinkSync(`/proc/${pid}/cwd`)));
        if (!fn) continue;
        // utime and stime (fields 14 and 15 of stat) in clock ticks, 100 a second on Linux.
        this.cpuByPid.set(pid, { fn, seconds: (Number(fields[11]) + Number(fields[12])) / 100 });
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (hwm) this.peakMb[fn] = Math.max(this.peakMb[fn] ?? 0, Number(hwm[1]) / 1024);
      } catch {
        // the process ended meanwhile
      }
    }
  }

  /** CPU seconds per function so far (environments that ended count with their last reading). */
  cpuSeconds(): Record<string, number> {
    this.sample();
    const out: Record<string, number> = {};
    for (const { fn, seconds } of this.cpuByPid.values()) out[fn] = (out[fn] ?? 0) + seconds;
    return out;
  }

  start(): void {
    this.timer = setInterval(() => this.sample(), 500);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample();
  }
}

/** Read from the functions' totals directly: `metrics()` would also ask SQS for queue depths on every poll. */
async function storedTotal(cloud: LocalCloud): Promise<number> {
  return cloud.totals().EventsStored ?? 0;
}

/** Waits until the counter stops moving (the generator's first run, a previous phase's tail). */
async function settle(cloud: LocalCloud, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const totals = cloud.totals();
    const now = (totals.EventsStored ?? 0) + (totals.EventsInvalid ?? 0) + (totals.EventsAccepted ?? 0);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(200);
  }
}

async function sustained(
  cloud: LocalCloud,
  rss: RssWatcher,
  options: { events: number; batch: number; concurrency: number; progress: (line: string) => void },
): Promise<E2eResult['sustained'] & { events_per_s: number }> {
  const events = trafficEvents(options.events, { seed: 2027, invalidShare: 0.02 }).map((e) => e.event);
  const before = await storedTotal(cloud);
  const functionsCpuBefore = rss.cpuSeconds();
  const mainCpuBefore = process.cpuUsage();
  const ingestUrl = cloud.outputs.IngestUrl!.replace(/\/+$/, '');
  let next = 0;
  let validAccepted = 0;
  let requests = 0;
  let resends = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < events.length) {
      const chunk = events.slice(next, next + options.batch);
      next += options.batch;
      const outcome = await post(ingestUrl, cloud.apiKeyValue, chunk);
      validAccepted += outcome.acceptedValid.length;
      requests += outcome.requests;
      resends += outcome.resends;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const sentSeconds = (performance.now() - started) / 1000;
  options.progress(`e2e sustained: ${events.length} posted in ${sentSeconds.toFixed(1)} s (${ratePerSecond(events.length, sentSeconds * 1000).toFixed(0)} events/s accepted by the API); waiting until stored`);
  const timeoutMs = Math.max(120_000, options.events * 20);
  let stored = 0;
  let nextProgress = performance.now() + 10_000;
  while (performance.now() - started < timeoutMs) {
    stored = (await storedTotal(cloud)) - before;
    if (stored >= validAccepted) break;
    if (performance.now() >= nextProgress) {
      options.progress(`e2e sustained: ${stored} of ${validAccepted} stored after ${((performance.now() - started) / 1000).toFixed(0)} s`);
      nextProgress += 10_000;
    }
    await sleep(100);
  }
  const elapsed = performance.now() - started;
  const mainCpu = process.cpuUsage(mainCpuBefore);
  const functionsCpu = rss.cpuSeconds();
  const cpu_seconds: Record<string, number> = { 'this process (local endpoint: emulators, API, pollers; bench client)': (mainCpu.user + mainCpu.system) / 1e6 };
  for (const [fn, seconds] of Object.entries(functionsCpu)) cpu_seconds[fn] = seconds - (functionsCpuBefore[fn] ?? 0);
  return {
    cpu_seconds,
    events: events.length,
    valid_accepted: validAccepted,
    stored,
    seconds: elapsed / 1000,
    requests,
    resends,
    complete: stored >= validAccepted,
    events_per_s: ratePerSecond(Math.min(stored, validAccepted), elapsed),
  };
}

async function latency(
  cloud: LocalCloud,
  dynamo: DynamoDBDocumentClient,
  options: { rate: number; seconds: number; samples: number; progress: (line: string) => void },
): Promise<{ offered: number; latencies: number[]; result: E2eResult['latency'] }> {
  const batch = 100;
  const intervalMs = (batch * 1000) / options.rate;
  const total = Math.round(options.rate * options.seconds);
  const events = trafficEvents(total, { seed: 2028, invalidShare: 0.02 }).map((e) => e.event);
  const ingestUrl = cloud.outputs.IngestUrl!.replace(/\/+$/, '');
  const table = cloud.outputs.EventsTableName!;
  // Every k-th event is sampled (if it is accepted as valid).
  const every = Math.max(1, Math.floor(total / options.samples));
  const sampledIds = new Set(events.filter((_, i) => i % every === 0).map((e) => String(e.event_id)));
  const acceptedAt = new Map<string, number>();
  const foundAt = new Map<string, number>();
  let sending = true;
  let deadline = Number.POSITIVE_INFINITY;

  const poller = (async () => {
    while (sending || foundAt.size < acceptedAt.size) {
      const pending = [...acceptedAt.keys()].filter((id) => !foundAt.has(id));
      for (let i = 0; i < pending.length; i += 100) {
        let request: Record<string, { Keys: Array<Record<string, unknown>>; ProjectionExpression: string }> | undefined = {
          [table]: { Keys: pending.slice(i, i + 100).map((event_id) => ({ event_id })), ProjectionExpression: 'event_id' },
        };
        while (request && Object.keys(request).length > 0) {
          const answer = await dynamo.send(new BatchGetCommand({ RequestItems: request }));
          const at = performance.now();
          for (const item of answer.Responses?.[table] ?? []) if (!foundAt.has(String(item.event_id))) foundAt.set(String(item.event_id), at);
          request = answer.UnprocessedKeys as typeof request;
        }
      }
      if (!sending && performance.now() > deadline) break;
      await sleep(100);
    }
  })();

  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let k = 0; k * batch < total; k += 1) {
    const due = started + k * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const chunk = events.slice(k * batch, (k + 1) * batch);
    const request = post(ingestUrl, cloud.apiKeyValue, chunk).then((outcome) => {
      for (const { id, at } of outcome.acceptedValid) if (sampledIds.has(id)) acceptedAt.set(id, at);
    });
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }
  await Promise.all(inFlight);
  const sendSeconds = (performance.now() - started) / 1000;
  const offered = total / sendSeconds;
  options.progress(`e2e latency: ${total} events offered in ${sendSeconds.toFixed(1)} s (${offered.toFixed(0)} events/s); waiting for ${acceptedAt.size} sampled events`);
  deadline = performance.now() + Math.max(60_000, total * 15);
  sending = false;
  await poller;
  const latencies = [...acceptedAt].map(([id, at]) => (foundAt.has(id) ? foundAt.get(id)! - at : Number.POSITIVE_INFINITY));
  return {
    offered,
    latencies,
    result: {
      target_rate: options.rate,
      seconds: sendSeconds,
      events: total,
      sampled: acceptedAt.size,
      found: foundAt.size,
      max_ms: Math.max(...latencies),
      method:
        'sampled accepted-valid event_ids polled with BatchGetItem (ConsistentRead off, every 100 ms); latency = answer of the first poll that found the item - answer of the POST that accepted it; not found within max(60 s, 15 ms x events offered) after sending = infinite',
    },
  };
}

export async function benchCloud(options: { quick: boolean; projectDir: string; progress: (line: string) => void }): Promise<CloudRun> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'bench-'));
  const cdkOut = path.join(workDir, 'cdk.out');
  options.progress(`e2e: synthesizing and starting the local cloud (cdk.out in ${cdkOut})`);
  const cloud = await startLocalCloud({
    port: 0,
    projectDir: options.projectDir,
    cdkOut,
    outputsFile: false,
    // The generator runs once, 3 s after start (so its environment's RSS is measured), then hourly.
    generator: true,
    generatorRate: 'rate(1 hour)',
  });
  const byAssetDir = new Map<string, string>();
  for (const resource of cloud.resources) {
    const dir = (resource.properties as { __assetDir?: string }).__assetDir;
    if (resource.type === 'AWS::Lambda::Function' && dir) byAssetDir.set(path.resolve(dir), functionNameOf(resource.logicalId));
  }
  const rss = new RssWatcher(byAssetDir);
  rss.start();
  const dynamo = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: cloud.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
  );
  try {
    options.progress('e2e: waiting for the generator run to be stored');
    const generatorDeadline = Date.now() + 60_000;
    while ((cloud.totals().EventsGenerated ?? 0) === 0 && Date.now() < generatorDeadline) await sleep(250);
    await settle(cloud, 2_000, 60_000);

    const s = await profiled('e2e-sustained', () => sustained(cloud, rss, { events: options.quick ? 2_000 : 10_000, batch: 500, concurrency: 4, progress: options.progress }));
    options.progress(`e2e sustained: ${s.stored} stored in ${s.seconds.toFixed(1)} s = ${s.events_per_s.toFixed(0)} events/s${s.complete ? '' : ' (INCOMPLETE: timed out)'}`);
    await settle(cloud, 2_000, 60_000);

    const l = await latency(cloud, dynamo, { rate: options.quick ? 200 : 1_000, seconds: options.quick ? 5 : 20, samples: 200, progress: options.progress });
    const { events_per_s, ...sustainedRest } = s;
    const e2e: E2eResult = {
      events_per_s,
      p50_ms: percentile(l.latencies, 50),
      p95_ms: percentile(l.latencies, 95),
      p99_ms: percentile(l.latencies, 99),
      offered_rate: l.offered,
      sustained: sustainedRest,
      latency: l.result,
    };
    options.progress(`e2e latency: p50 ${e2e.p50_ms.toFixed(0)} ms, p95 ${e2e.p95_ms.toFixed(0)} ms, p99 ${e2e.p99_ms.toFixed(0)} ms (${l.result.found}/${l.result.sampled} found)`);
    rss.stop();
    return { e2e, peakRssMb: rss.peakMb, cdkOut };
  } finally {
    rss.stop();
    dynamo.destroy();
    await cloud.stop();
  }
}
