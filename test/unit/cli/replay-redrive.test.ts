import { describe, expect, it } from 'vitest';
import { isUnsupportedOperation } from '../../../tools/cli/redrive';
import { rangeFromFailureRecord, streamNameFromArn } from '../../../tools/cli/replay';

const failureRecord = {
  requestContext: { requestId: 'r', functionArn: 'arn:aws:lambda:us-east-1:1:function:Validator', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  version: '1.0',
  timestamp: '2026-11-22T10:00:00.000Z',
  KinesisBatchInfo: {
    shardId: 'shardId-000000000000',
    startSequenceNumber: '49590338271490256608559692538361571095921575989136588898',
    endSequenceNumber: '49590338271490256608559692540925702759324208523137515618',
    approximateArrivalOfFirstRecord: '2026-11-22T09:59:00.000Z',
    approximateArrivalOfLastRecord: '2026-11-22T09:59:01.000Z',
    batchSize: 100,
    streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/RawStream-abc',
  },
};

describe('rangeFromFailureRecord', () => {
  it('reads shard, sequence range and stream from KinesisBatchInfo', () => {
    expect(rangeFromFailureRecord(failureRecord, ['RawStream-abc', 'ProcessedStream-def'])).toEqual({
      kind: 'sequence',
      streamName: 'RawStream-abc',
      shardId: 'shardId-000000000000',
      startSequenceNumber: failureRecord.KinesisBatchInfo.startSequenceNumber,
      endSequenceNumber: failureRecord.KinesisBatchInfo.endSequenceNumber,
    });
  });

  it('refuses a record of another stack or without the batch info', () => {
    expect(() => rangeFromFailureRecord(failureRecord, ['Other'])).toThrow(/names stream RawStream-abc, not one of this stack's: Other/);
    expect(() => rangeFromFailureRecord({ hello: 1 }, ['RawStream-abc'])).toThrow(/no KinesisBatchInfo/);
    expect(() => rangeFromFailureRecord({ KinesisBatchInfo: { shardId: 's' } }, ['RawStream-abc'])).toThrow(/lacks/);
  });

  it('reads stream names from ARNs', () => {
    expect(streamNameFromArn('arn:aws:kinesis:us-east-1:1:stream/abc')).toBe('abc');
    expect(() => streamNameFromArn('arn:aws:sqs:us-east-1:1:q')).toThrow(/not a Kinesis stream ARN/);
  });
});

describe('isUnsupportedOperation', () => {
  it('recognises the answers of endpoints without StartMessageMoveTask', () => {
    expect(isUnsupportedOperation(Object.assign(new Error('x'), { name: 'UnsupportedOperation' }))).toBe(true);
    expect(isUnsupportedOperation(Object.assign(new Error('x'), { name: 'InvalidAction' }))).toBe(true);
    expect(isUnsupportedOperation(Object.assign(new Error('x'), { name: 'Error', $metadata: { httpStatusCode: 404 } }))).toBe(true);
  });

  it('does not mistake access or throttling errors for it', () => {
    expect(isUnsupportedOperation(Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }))).toBe(false);
    expect(isUnsupportedOperation(Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }))).toBe(false);
    // A 404 about a queue (the SourceArn or DestinationArn does not exist) is no reason to fall back to copying.
    expect(isUnsupportedOperation(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } }))).toBe(false);
  });
});
