import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { archivePrefixes, hourPrefix, linesOf, readArchive, type ArchiveReadCounts } from '../../../tools/cli/archive';
import { eventsFromArchive } from '../../../tools/cli/rebuild';
import { outputsAt, runCli } from '../../fixtures/cli';
import { sampleEventV3 } from '../../fixtures/events';

/** An S3 bucket in memory that answers ListObjectsV2 (prefix, 2 keys a page) and GetObject. */
function fakeS3(objects: Record<string, Buffer>): S3Client {
  return {
    send: async (command: unknown) => {
      if (command instanceof ListObjectsV2Command) {
        const { Prefix = '', ContinuationToken } = command.input;
        const keys = Object.keys(objects).filter((k) => k.startsWith(Prefix)).sort();
        const start = ContinuationToken ? Number(ContinuationToken) : 0;
        const page = keys.slice(start, start + 2);
        return { Contents: page.map((Key) => ({ Key })), ...(start + 2 < keys.length ? { NextContinuationToken: String(start + 2) } : {}) };
      }
      if (command instanceof GetObjectCommand) {
        const body = objects[command.input.Key!]!;
        return { Body: { transformToByteArray: async () => new Uint8Array(body) } };
      }
      throw new Error('unexpected command');
    },
  } as unknown as S3Client;
}

const envelope = (receivedAt: string, event: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ received_at: receivedAt, request_id: randomUUID(), event, ...extra });
const object = (lines: string[]) => gzipSync(Buffer.from(lines.map((l) => `${l}\n`).join('')));
const counts = (): ArchiveReadCounts => ({ objects: 0, lines: 0, outOfRange: 0, duplicates: 0, replayedCopies: 0 });

describe('archive layout', () => {
  it('names the hour prefix of a time in UTC and covers one hour either side of a range', () => {
    expect(hourPrefix(new Date('2026-11-30T07:59:59.999+01:00'))).toBe('raw/dt=2026-11-30/hour=06/');
    expect(archivePrefixes(new Date('2026-11-30T23:10:00Z'), new Date('2026-12-01T00:20:00Z'))).toEqual([
      'raw/dt=2026-11-30/hour=22/',
      'raw/dt=2026-11-30/hour=23/',
      'raw/dt=2026-12-01/hour=00/',
      'raw/dt=2026-12-01/hour=01/',
    ]);
  });

  it('splits gzip or plain bodies into lines without their newline, a last line without one included', () => {
    expect(linesOf(gzipSync(Buffer.from('a\n{"b":1}\n'))).map(String)).toEqual(['a', '{"b":1}']);
    expect(linesOf(Buffer.from('x\ny')).map(String)).toEqual(['x', 'y']);
    expect(linesOf(Buffer.alloc(0))).toEqual([]);
  });
});

describe('readArchive', () => {
  it('returns the records received in the range once: no neighbours, duplicates or replay copies', async () => {
    const inRange = envelope('2026-11-30T10:30:00.000Z', { event_id: 'a' });
    const early = envelope('2026-11-30T09:59:00.000Z', { event_id: 'b' });
    const lateInEarlierObject = envelope('2026-11-30T11:00:30.000Z', { event_id: 'c' });
    const replayCopy = envelope('2026-11-30T10:30:00.000Z', { event_id: 'a' }, { replayed_at: '2026-12-02T00:00:00.000Z' });
    const s3 = fakeS3({
      'raw/dt=2026-11-30/hour=09/o1.gz': object([early]),
      'raw/dt=2026-11-30/hour=10/o2.gz': object([inRange, 'not json', lateInEarlierObject]),
      'raw/dt=2026-11-30/hour=10/o3.gz': object([inRange, replayCopy]),
      'raw/dt=2026-11-30/hour=11/o4.gz': object(['another stray']),
      'raw/dt=2026-11-30/hour=12/o5.gz': object([envelope('2026-11-30T10:40:00.000Z', { event_id: 'e' })]),
    });
    const found = counts();
    const records: string[] = [];
    for await (const batch of readArchive(s3, { bucket: 'b', from: new Date('2026-11-30T10:00:00Z'), to: new Date('2026-11-30T10:59:59.999Z') }, found)) {
      records.push(...batch.records.map((r) => r.data.toString()));
    }
    // e sits two hours after its receipt, beyond what is read; the stray line of hour 11 is outside the range's hours.
    expect(records).toEqual([inRange, 'not json']);
    expect(found).toEqual({ objects: 4, lines: 7, outOfRange: 3, duplicates: 1, replayedCopies: 1 });
  });
});

describe('eventsFromArchive (pipeline rebuild)', () => {
  it('judges each record as the validator does, counts each event_id once (earliest received) and keeps the hours asked for', async () => {
    const eventTime = '2026-11-30T10:15:00.000Z';
    const purchase = sampleEventV3({ event_id: randomUUID(), event_time: eventTime, quantity: 2, price: 10 });
    const resentLater = { ...purchase, quantity: 5 };
    const invalid = sampleEventV3({ event_time: eventTime, price: -1 });
    const otherHour = sampleEventV3({ event_time: '2026-11-30T08:15:00.000Z' });
    const s3 = fakeS3({
      'raw/dt=2026-11-30/hour=10/o1.gz': object([
        envelope('2026-11-30T10:16:00.000Z', resentLater),
        envelope('2026-11-30T10:15:30.000Z', purchase),
        envelope('2026-11-30T10:16:00.000Z', invalid),
        envelope('2026-11-30T10:16:00.000Z', otherHour),
        'garbage',
      ]),
    });
    const { events, counts: c } = await eventsFromArchive(s3, 'b', { from: 'HOUR#2026-11-30T10', to: 'HOUR#2026-11-30T10', now: new Date('2026-11-30T12:00:00Z') });
    expect(c).toMatchObject({ records: 5, valid: 3, invalid: 1, unparseable: 1, duplicateEventIds: 1, otherHours: 1 });
    expect(c.receivedFrom).toBe('2026-11-30T09:55:00.000Z');
    expect(c.receivedTo).toBe('2026-11-30T12:00:00.000Z');
    expect([...events.keys()]).toEqual(['HOUR#2026-11-30T10']);
    const [stored] = events.get('HOUR#2026-11-30T10')!;
    expect(stored).toMatchObject({ event_id: purchase.event_id, quantity: 2, total_amount: 20 });
  });
});

describe('pipeline replay --from-archive and rebuild: clear errors', () => {
  it('refuses --from-archive without --from, and a stack without the archive, before touching anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'archive-cli-'));
    try {
      const outputsFile = join(dir, 'outputs.json');
      // Every service at a closed port: an error must come before any request.
      await writeFile(outputsFile, outputsAt('http://127.0.0.1:9'));
      const noFrom = await runCli(['replay', '--from-archive'], { outputsFile });
      expect(noFrom.code).toBe(1);
      expect(noFrom.stderr).toContain('--from-archive needs --from (and --to)');
      for (const args of [['replay', '--from-archive', '--from', '2026-11-30T10:00:00Z'], ['rebuild', '--from', '2026-11-30T10', '--to', '2026-11-30T10']]) {
        const run = await runCli(args, { outputsFile });
        expect(run.code, args.join(' ')).toBe(1);
        expect(run.stderr).toContain('has no ArchiveBucketName: the stack has no raw archive');
      }
      const backwards = await runCli(['rebuild', '--from', '2026-11-30T10', '--to', '2026-11-30T09'], { outputsFile });
      expect(backwards.stderr).toContain('--to is before --from');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
