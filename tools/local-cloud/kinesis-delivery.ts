/** Hands one Kinesis batch to the function as Lambda does: partial batch responses, bisect on error, retries, record age, the on-failure destination record. */
import { randomUUID } from 'node:crypto';
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { errorMessageOf } from '../../lambdas/shared/error-message';
import { exponentialDelay } from '../../lambdas/shared/retry';
import type { KinesisMappingOptions } from './kinesis-esm';
import type { StopSignal } from './stop-signal';

export const ERROR_BACKOFF_MS = 500;
const MAX_RETRY_BACKOFF_MS = 1_000;

type Outcome = { kind: 'success' } | { kind: 'partial'; firstFailedIndex: number } | { kind: 'error'; errorType: string; errorMessage: string };

/** The delivery side of one shard's poller. */
export class KinesisBatchDelivery {
  constructor(
    private readonly opts: KinesisMappingOptions,
    private readonly shardId: string,
    private readonly label: string,
    private readonly stopSignal: StopSignal,
  ) {}

  /**
   * Hands the records on: returns once the function processed them or they went to the on-failure
   * destination. Bisecting does not count against MaximumRetryAttempts (as documented by AWS): each
   * half is a new batch with its own retry count.
   */
  async deliver(records: KinesisRecord[]): Promise<void> {
    const { spec } = this.opts;
    let batch = records;
    let retries = 0;
    let invokeCount = 0;
    let lastError: Outcome | undefined;
    while (batch.length > 0 && !this.stopSignal.stopped) {
      batch = await this.discardExpired(batch, invokeCount, lastError);
      if (batch.length === 0) return;
      invokeCount += 1;
      const outcome = await this.invoke(batch);
      if (outcome.kind === 'success') return;
      lastError = outcome;
      if (outcome.kind === 'partial') {
        // Checkpoint before the lowest failed record; the retry starts there.
        batch = batch.slice(outcome.firstFailedIndex);
      } else {
        this.opts.log?.(`${this.label} batch of ${batch.length} failed: ${outcome.errorType}: ${outcome.errorMessage}`);
        if (spec.bisectBatchOnFunctionError && batch.length > 1) {
          const middle = Math.ceil(batch.length / 2);
          await this.deliver(batch.slice(0, middle));
          await this.deliver(batch.slice(middle));
          return;
        }
      }
      retries += 1;
      if (spec.maximumRetryAttempts >= 0 && retries > spec.maximumRetryAttempts) {
        await this.sendToOnFailure(batch, 'RetryAttemptsExhausted', invokeCount, lastError);
        return;
      }
      await this.stopSignal.sleep(exponentialDelay(retries, 100, MAX_RETRY_BACKOFF_MS));
    }
  }

  /** Records older than MaximumRecordAgeInSeconds leave the batch for the on-failure destination. */
  private async discardExpired(batch: KinesisRecord[], invokeCount: number, lastError: Outcome | undefined): Promise<KinesisRecord[]> {
    const maxAge = this.opts.spec.maximumRecordAgeInSeconds;
    if (maxAge < 0) return batch;
    const oldestAllowed = Date.now() - maxAge * 1000;
    let expired = 0;
    while (expired < batch.length && arrivalMs(batch[expired]!) < oldestAllowed) expired += 1;
    if (expired === 0) return batch;
    await this.sendToOnFailure(batch.slice(0, expired), 'RecordAgeExceeded', invokeCount, lastError);
    return batch.slice(expired);
  }

  private async invoke(batch: KinesisRecord[]): Promise<Outcome> {
    const { spec, invoker } = this.opts;
    const result = await invoker.invoke(spec.functionName, this.eventFor(batch));
    if (!result.ok) return { kind: 'error', errorType: result.errorType, errorMessage: result.errorMessage };
    if (!spec.reportBatchItemFailures) return { kind: 'success' };
    const failures = (result.payload as { batchItemFailures?: unknown } | null)?.batchItemFailures;
    if (!Array.isArray(failures) || failures.length === 0) return { kind: 'success' };
    const positions = new Map(batch.map((record, index) => [record.SequenceNumber, index]));
    let firstFailedIndex = Number.POSITIVE_INFINITY;
    for (const failure of failures) {
      const identifier = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      const index = typeof identifier === 'string' && identifier !== '' ? positions.get(identifier) : undefined;
      // As in AWS: a missing, empty or unknown identifier fails the whole batch.
      if (index === undefined) {
        return { kind: 'error', errorType: 'InvalidBatchItemFailure', errorMessage: `itemIdentifier ${JSON.stringify(identifier)} is not in the batch` };
      }
      firstFailedIndex = Math.min(firstFailedIndex, index);
    }
    return { kind: 'partial', firstFailedIndex };
  }

  private eventFor(batch: KinesisRecord[]) {
    const { spec, region, roleArn } = this.opts;
    return {
      Records: batch.map((record) => ({
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: record.PartitionKey,
          sequenceNumber: record.SequenceNumber,
          data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
          approximateArrivalTimestamp: arrivalMs(record) / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${this.shardId}:${record.SequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: roleArn,
        awsRegion: region,
        eventSourceARN: spec.eventSourceArn,
      })),
    };
  }

  /** Sends what AWS sends to an on-failure destination, then the records count as handed on. */
  private async sendToOnFailure(
    batch: KinesisRecord[],
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded',
    invokeCount: number,
    lastError: Outcome | undefined,
  ): Promise<void> {
    const { spec } = this.opts;
    const first = batch[0]!;
    const last = batch[batch.length - 1]!;
    const range = `${first.SequenceNumber}..${last.SequenceNumber}`;
    if (!spec.onFailureDestinationArn) {
      this.opts.log?.(`${this.label} discarded ${batch.length} record(s) ${range}: ${condition}`);
      return;
    }
    const invocationRecord = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.opts.functionArn,
        condition,
        approximateInvokeCount: invokeCount,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(lastError?.kind === 'error' ? { functionError: 'Unhandled' } : {}),
      },
      version: '1.0',
      timestamp: new Date().toISOString(),
      KinesisBatchInfo: {
        shardId: this.shardId,
        startSequenceNumber: first.SequenceNumber,
        endSequenceNumber: last.SequenceNumber,
        approximateArrivalOfFirstRecord: new Date(arrivalMs(first)).toISOString(),
        approximateArrivalOfLastRecord: new Date(arrivalMs(last)).toISOString(),
        batchSize: batch.length,
        streamArn: spec.eventSourceArn,
      },
    };
    const destination = spec.onFailureDestinationArn;
    if (destination.split(':')[2] !== 'sqs') {
      this.opts.log?.(`${this.label} on-failure destination ${destination} is not an SQS queue; discarded ${range}`);
      return;
    }
    // The records leave the shard only once the destination has them, so nothing is lost locally.
    for (let attempt = 1; !this.stopSignal.stopped; attempt += 1) {
      try {
        const queueUrl = await this.opts.queueUrlOf(destination);
        await this.opts.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(invocationRecord) }));
        this.opts.log?.(`${this.label} sent ${batch.length} record(s) ${range} to the on-failure destination: ${condition}`);
        return;
      } catch (error) {
        this.opts.log?.(`${this.label} cannot reach the on-failure destination (attempt ${attempt}): ${errorMessageOf(error)}`);
        await this.stopSignal.sleep(ERROR_BACKOFF_MS);
      }
    }
  }
}

function arrivalMs(record: KinesisRecord): number {
  return record.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
}
