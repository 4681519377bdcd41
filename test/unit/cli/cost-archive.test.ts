import { describe, expect, it } from 'vitest';
import { DEFAULT_COST_INPUTS, estimateCost } from '../../../tools/cli/cost';
import { configOf, costInputsFromConfig, readCdkContext } from '../../../tools/cli/cost-context';
import { ARCHIVE_GZIP_RATIO } from '../../../tools/cli/cost-archive';

// The raw archive's lines, worked out by hand from the price table (us-east-1): 10 events/s of
// 824 bytes (raw record 944 B, 945 B in the archive with its newline), a month of 2,628,000 s.
const inputs = { ...DEFAULT_COST_INPUTS, eventsPerSecond: 10, eventBytes: 824, archive: { bufferMb: 64, bufferSeconds: 300, iaDays: 30, months: 12 } };
const line = (report: ReturnType<typeof estimateCost>, component: string) => report.lines.find((l) => l.component === component);

describe('pipeline cost: raw archive', () => {
  it('prices Firehose per GB with each record rounded up to 5 KB, hand-checked', () => {
    // 26,280,000 records x 5,120 B = 125.3128 GiB x $0.029 = 3.634071
    const firehose = line(estimateCost(inputs), 'Firehose (raw archive)')!;
    expect(firehose.monthly).toBeCloseTo(3.634071, 5);
    expect(firehose.priceSource).toBe('https://aws.amazon.com/firehose/pricing/');
  });

  it('prices S3 PUTs per buffer flush and storage Standard, then Standard-IA after the lifecycle days, hand-checked', () => {
    // 10 x 945 B x 300 s = 2.835 MB per object < 64 MB: one object per 300 s = 8,760 PUTs x $0.005/1000 = 0.0438.
    // 24,834,600,000 B a month x 0.162 (gzip) = 3.746902 GiB a month. After 12 months: 30 days
    // (0.986301 months) in Standard = 3.695574 GiB x $0.023 = 0.084998; 11.013699 months in
    // Standard-IA = 41.267247 GiB x $0.0125 = 0.515841; 8,760 transitions x $0.01/1000 = 0.0876.
    // Total 0.732239.
    expect(ARCHIVE_GZIP_RATIO).toBe(0.162);
    const s3 = line(estimateCost(inputs), 'S3 (raw archive)')!;
    expect(s3.monthly).toBeCloseTo(0.732239, 5);
    expect(s3.basis).toMatch(/^8,760 PUTs/);
  });

  it('writes an object per full buffer when the size comes first', () => {
    // 1,000 events/s x 945 B fill 1 MiB in about a second: 2,368,412 objects a month.
    const s3 = line(estimateCost({ ...inputs, eventsPerSecond: 1_000, archive: { ...inputs.archive, bufferMb: 1 } }), 'S3 (raw archive)')!;
    expect(s3.basis).toMatch(/^2,368,412 PUTs/);
  });

  it('follows the context: on by default with its settings, no lines with rawArchive=false', () => {
    expect(costInputsFromConfig(configOf(readCdkContext([]))).archive).toEqual({ bufferMb: 64, bufferSeconds: 300, iaDays: 30, months: 12 });
    const tuned = costInputsFromConfig(configOf(readCdkContext(['rawArchiveIaDays=90', 'rawArchiveBufferSeconds=60'])));
    expect(tuned.archive).toMatchObject({ iaDays: 90, bufferSeconds: 60 });
    const off = costInputsFromConfig(configOf(readCdkContext(['rawArchive=false'])));
    expect(off.archive).toBeUndefined();
    expect(estimateCost(off).lines.map((l) => l.component)).not.toContain('Firehose (raw archive)');
    // Longer in Standard costs more storage than moving to Standard-IA early.
    const s3 = (archive: typeof inputs.archive) => line(estimateCost({ ...inputs, archive }), 'S3 (raw archive)')!.monthly;
    expect(s3({ ...inputs.archive, iaDays: 180 })).toBeGreaterThan(s3(inputs.archive));
  });
});
