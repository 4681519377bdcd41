import type { CostInputs, CostLine } from './cost';
import { PRICES } from './prices';

/**
 * The SQL sink (context auroraSink), priced on top of the DynamoDB sink: it is a second consumer
 * of the processed stream writing a second copy of every stored event.
 * - Lambda SqlSink: one invocation per processed-stream batch (the Loader's batches).
 * - Aurora Serverless v2: the average ACUs over the month (min capacity 0: a paused writer costs
 *   nothing; `--acu` is the assumption), one write I/O per stored event (a row and its three index
 *   entries are about 1-2 KB of redo, under Aurora's 4 KB write unit), storage of the month's events.
 * - RDS Data API: per invocation BeginTransaction, BatchExecuteStatement (billed per 32 KB of
 *   payload), the ownership query, CommitTransaction and the batch's quality row.
 */

/** What the typed parameters add to an event in a BatchExecuteStatement (measured: a 638 B event is a 1,679 B parameter set). */
export const DATA_API_PARAMETER_OVERHEAD_BYTES = 1_050;
/** Data API calls per invocation besides the batch: Begin, the ownership query, Commit, the quality row. */
export const DATA_API_CALLS_PER_BATCH = 4;
/** Records per invocation that durationMs is measured for (as the other functions). */
const DURATION_RECORDS = 100;
const MILLION = 1_000_000;
const GB = 1024 ** 3;

export function sqlSinkLines(
  inputs: CostInputs,
  m: { validEvents: number; storedBytes: number; batchRecords: number; invocations: number },
  fmt: (value: number) => string,
): Array<Omit<CostLine, 'perMillionEvents'>> {
  const lambda = PRICES.lambdaArm64;
  const profile = inputs.sqlSinkFunction;
  const durationMs = profile.durationMs * Math.max(1, m.batchRecords / DURATION_RECORDS);
  const gbSeconds = m.invocations * (durationMs / 1000) * (profile.memoryMb / 1024);

  const aurora = PRICES.auroraServerlessV2;
  const storedGb = (m.validEvents * m.storedBytes) / GB;
  const io = m.validEvents + m.invocations;

  const dataApi = PRICES.rdsDataApi;
  const batchPayload = m.batchRecords * (m.storedBytes + DATA_API_PARAMETER_OVERHEAD_BYTES);
  const requestsPerInvocation = DATA_API_CALLS_PER_BATCH + Math.max(1, Math.ceil(batchPayload / dataApi.requestChunkBytes));
  const requests = m.invocations * requestsPerInvocation;

  return [
    {
      component: 'Lambda SQL sink',
      priceSource: lambda.page,
      basis: `${fmt(m.invocations)} invocations of ${fmt(m.batchRecords)} records x ${fmt(durationMs)} ms x ${profile.memoryMb} MB = ${fmt(gbSeconds)} GB-s`,
      monthly: gbSeconds * lambda.perGbSecond + (m.invocations / MILLION) * lambda.perMillionRequests,
    },
    {
      component: 'Aurora (SQL sink)',
      priceSource: aurora.page,
      basis: `${inputs.auroraAverageAcu} ACU average x ${PRICES.hoursPerMonth} h x $${aurora.perAcuHour}; ${fmt(io)} I/O x $${aurora.perMillionIoRequests}/M; ${fmt(storedGb)} GB x $${aurora.perGbMonth}`,
      monthly: inputs.auroraAverageAcu * PRICES.hoursPerMonth * aurora.perAcuHour + (io / MILLION) * aurora.perMillionIoRequests + storedGb * aurora.perGbMonth,
    },
    {
      component: 'RDS Data API',
      priceSource: dataApi.page,
      basis: `${fmt(requests)} requests (${requestsPerInvocation} per batch, 32 KB each) x $${dataApi.perMillionRequests}/M`,
      monthly: (requests / MILLION) * dataApi.perMillionRequests,
    },
  ];
}
