import { gunzipSync } from 'node:zlib';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEndpoint, type AwsEndpoint } from '../../../tools/local-cloud/endpoint';
import { deliveryStreamSpecFrom, expandPrefix, startDeliveryStream, type DeliveryStreamSpec } from '../../../tools/local-cloud/firehose';
import { pollUntil } from '../../../tools/shared/poll';

// S3 on the one local endpoint, through the real SDK over HTTP, and the local Firehose: buffering
// by size and by interval, the key layout, newline-delimited gzip objects, retries under S3 faults.

let endpoint: AwsEndpoint;
let s3: S3Client;
let kinesis: KinesisClient;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, region: 'us-east-1', accountId: '000000000000' });
  s3 = new S3Client({ endpoint: endpoint.url, region: 'us-east-1', credentials, forcePathStyle: true });
  kinesis = new KinesisClient({ endpoint: endpoint.url, region: 'us-east-1', credentials, requestHandler: new NodeHttpHandler() });
});
afterAll(async () => {
  s3?.destroy();
  kinesis?.destroy();
  await endpoint?.close();
});

const bodyOf = async (bucket: string, key: string) =>
  Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());

async function keysUnder(bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

describe('S3 on the local endpoint', () => {
  it('creates buckets, puts, heads, gets, lists (prefix, delimiter, pages) and deletes objects byte for byte', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'archive-a' }));
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toContain('archive-a');
    const binary = Buffer.from([0, 255, 10, 13, 31, 139, 8, 0]);
    for (const hour of ['09', '10']) {
      for (const n of [1, 2, 3]) await s3.send(new PutObjectCommand({ Bucket: 'archive-a', Key: `raw/dt=2026-11-30/hour=${hour}/o-${n}.gz`, Body: binary }));
    }
    expect(await bodyOf('archive-a', 'raw/dt=2026-11-30/hour=09/o-2.gz')).toEqual(binary);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'archive-a', Key: 'raw/dt=2026-11-30/hour=10/o-1.gz' }))).ContentLength).toBe(binary.length);
    const byHour = await s3.send(new ListObjectsV2Command({ Bucket: 'archive-a', Prefix: 'raw/dt=2026-11-30/', Delimiter: '/' }));
    expect(byHour.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['raw/dt=2026-11-30/hour=09/', 'raw/dt=2026-11-30/hour=10/']);
    const firstPage = await s3.send(new ListObjectsV2Command({ Bucket: 'archive-a', Prefix: 'raw/', MaxKeys: 4 }));
    expect(firstPage.IsTruncated).toBe(true);
    expect(await keysUnder('archive-a', 'raw/')).toHaveLength(6);
    await s3.send(new DeleteObjectCommand({ Bucket: 'archive-a', Key: 'raw/dt=2026-11-30/hour=10/o-3.gz' }));
    expect(await keysUnder('archive-a', 'raw/dt=2026-11-30/hour=10/')).toHaveLength(2);
    await expect(s3.send(new GetObjectCommand({ Bucket: 'archive-a', Key: 'nothing' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('answers PutObject 503 SlowDown under the s3 fault, and the SDK sees it as such', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'archive-b' }));
    endpoint.faults.apply({ s3: { putObjectFailure: 1 } });
    try {
      const noRetry = new S3Client({ endpoint: endpoint.url, region: 'us-east-1', credentials, forcePathStyle: true, maxAttempts: 1 });
      await expect(noRetry.send(new PutObjectCommand({ Bucket: 'archive-b', Key: 'k', Body: 'x' }))).rejects.toMatchObject({
        name: 'SlowDown',
        $metadata: { httpStatusCode: 503 },
      });
      noRetry.destroy();
    } finally {
      endpoint.faults.clear();
    }
    expect(await keysUnder('archive-b')).toEqual([]);
  });
});

describe('local Firehose', () => {
  let streamCount = 0;
  async function setUp(hints: { mb: number; seconds: number }): Promise<DeliveryStreamSpec> {
    const n = ++streamCount;
    const streamName = `raw-${n}`;
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 2 }));
    await pollUntil(
      'stream to be active',
      async () => ((await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined),
      { intervalMs: 20 },
    );
    await s3.send(new CreateBucketCommand({ Bucket: `archive-f${n}` }));
    return deliveryStreamSpecFrom({
      logicalId: 'ArchiveDeliveryStream',
      type: 'AWS::KinesisFirehose::DeliveryStream',
      ref: `Delivery-${n}`,
      attributes: {},
      properties: {
        DeliveryStreamType: 'KinesisStreamAsSource',
        KinesisStreamSourceConfiguration: { KinesisStreamARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${streamName}` },
        ExtendedS3DestinationConfiguration: {
          BucketARN: `arn:aws:s3:::archive-f${n}`,
          Prefix: 'raw/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
          ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
          CompressionFormat: 'GZIP',
          BufferingHints: { SizeInMBs: hints.mb, IntervalInSeconds: hints.seconds },
          ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [] }] },
        },
      },
    });
  }

  async function put(streamName: string, lines: string[]): Promise<void> {
    for (let i = 0; i < lines.length; i += 500) {
      const answer = await kinesis.send(
        new PutRecordsCommand({ StreamName: streamName, Records: lines.slice(i, i + 500).map((line, j) => ({ Data: Buffer.from(line), PartitionKey: `pk-${i + j}` })) }),
      );
      expect(answer.FailedRecordCount ?? 0).toBe(0);
    }
  }

  async function archivedLines(spec: DeliveryStreamSpec): Promise<{ keys: string[]; lines: string[] }> {
    const keys = await keysUnder(spec.bucket, 'raw/');
    const lines: string[] = [];
    for (const key of keys) {
      const text = gunzipSync(await bodyOf(spec.bucket, key)).toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      lines.push(...text.slice(0, -1).split('\n'));
    }
    return { keys, lines };
  }

  it('reads the template: source stream, bucket, hints, gzip, newline delimiter', async () => {
    const spec = await setUp({ mb: 64, seconds: 300 });
    expect(spec).toMatchObject({ sourceStreamName: `raw-${streamCount}`, bucket: `archive-f${streamCount}`, compression: 'GZIP', bufferBytes: 64 * 1024 * 1024, bufferSeconds: 300, appendNewline: true });
    expect(expandPrefix(spec.prefix, new Date('2026-11-30T07:05:09Z'))).toBe('raw/dt=2026-11-30/hour=07/');
  });

  it('writes one object per buffering interval, under the hour of arrival, every record once with a newline', async () => {
    const spec = await setUp({ mb: 64, seconds: 1 });
    const firehose = startDeliveryStream({ spec, kinesis, s3 });
    try {
      const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ received_at: new Date().toISOString(), request_id: `r${i}`, event: { n: i } }));
      await put(spec.sourceStreamName, lines);
      const archived = await pollUntil('the archive to hold every record', async () => {
        const found = await archivedLines(spec);
        return found.lines.length >= lines.length ? found : undefined;
      }, { timeoutMs: 20_000, intervalMs: 200 });
      expect(archived.lines.sort()).toEqual([...lines].sort());
      for (const key of archived.keys) expect(key).toMatch(new RegExp(`^raw/dt=\\d{4}-\\d{2}-\\d{2}/hour=\\d{2}/Delivery-${streamCount}-1-\\d{4}(-\\d{2}){5}-[0-9a-f-]{36}\\.gz$`));
    } finally {
      await firehose.stop();
    }
  });

  it('writes as soon as the buffer reaches SizeInMBs, long before the interval', async () => {
    const spec = await setUp({ mb: 1, seconds: 900 });
    const firehose = startDeliveryStream({ spec, kinesis, s3 });
    try {
      const big = 'x'.repeat(20_000);
      const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ i, big }));
      await put(spec.sourceStreamName, lines);
      await pollUntil('a size-triggered object', async () => ((await keysUnder(spec.bucket, 'raw/')).length > 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 200 });
      // Past 1 MB written at once; the rest stays buffered until the interval (15 minutes) or stop.
      const { lines: written } = await archivedLines(spec);
      expect(written.length).toBeGreaterThanOrEqual(Math.ceil((1024 * 1024) / (big.length + 20)));
      expect(written.length).toBeLessThan(lines.length + 1);
    } finally {
      await firehose.stop();
    }
    // Stopping writes what was buffered: every record once.
    expect((await archivedLines(spec)).lines.map((l) => JSON.parse(l).i).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('retries PutObject while S3 answers SlowDown: nothing lost, nothing doubled', async () => {
    const spec = await setUp({ mb: 64, seconds: 1 });
    endpoint.faults.apply({ seed: 7, s3: { putObjectFailure: 0.7 } });
    const firehose = startDeliveryStream({ spec, kinesis, s3 });
    try {
      const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ i }));
      await put(spec.sourceStreamName, lines.slice(0, 15));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await put(spec.sourceStreamName, lines.slice(15));
      const archived = await pollUntil('every record archived despite the faults', async () => {
        const found = await archivedLines(spec);
        return found.lines.length >= lines.length ? found : undefined;
      }, { timeoutMs: 30_000, intervalMs: 300 });
      expect(endpoint.faults.state().injected['s3.putObjectFailure']).toBeGreaterThan(0);
      expect(archived.lines.sort()).toEqual([...lines].sort());
    } finally {
      endpoint.faults.clear();
      await firehose.stop();
    }
  });
});
