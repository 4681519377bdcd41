import { describe, expect, it } from 'vitest';
import { MetricAccumulator, parseEmfLine } from '../../../tools/local-cloud/emf';

function emfLine(values: Record<string, unknown>, names = Object.keys(values)): string {
  return JSON.stringify({
    _aws: {
      Timestamp: 1,
      CloudWatchMetrics: [{ Namespace: 'EcommercePipeline', Dimensions: [['service']], Metrics: names.map((Name) => ({ Name, Unit: 'Count' })) }],
    },
    service: 'collector',
    ...values,
  });
}

describe('EMF reader', () => {
  it('reads numbers and arrays of numbers by metric name', () => {
    expect(parseEmfLine(emfLine({ EventsReceived: 3, EventsAccepted: [1, 2, 4] }))).toEqual({ EventsReceived: 3, EventsAccepted: 7 });
  });

  it('ignores plain logs, JSON logs without metrics and broken JSON', () => {
    expect(parseEmfLine('START RequestId: 1')).toBeUndefined();
    expect(parseEmfLine(JSON.stringify({ level: 'INFO', message: 'CloudWatchMetrics mentioned' }))).toBeUndefined();
    expect(parseEmfLine('{"_aws":{"CloudWatchMetrics":[')).toBeUndefined();
  });

  it('counts only the properties the directive declares as metrics', () => {
    expect(parseEmfLine(emfLine({ EventsStored: 2, batchSize: 10 }, ['EventsStored']))).toEqual({ EventsStored: 2 });
  });

  it('keeps running totals across lines', () => {
    const totals = new MetricAccumulator();
    expect(totals.add(emfLine({ EventsStored: 2 }))).toBe(true);
    expect(totals.add('not a metric')).toBe(false);
    totals.add(emfLine({ EventsStored: [1, 1], EventsDuplicate: 1 }));
    expect(totals.snapshot()).toEqual({ EventsStored: 4, EventsDuplicate: 1 });
  });
});
