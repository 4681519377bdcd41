import { PRICES } from './prices';

/**
 * What the raw archive (lib/constructs/raw-archive.ts) costs: Firehose ingestion of every raw
 * record (each rounded up to 5 KB), one S3 PUT per object it writes (an object per buffer:
 * rawArchiveBufferMb of records or rawArchiveBufferSeconds, whichever comes first), and the
 * storage of what the archive holds after `months` of traffic: the last rawArchiveIaDays in S3
 * Standard, the rest in Standard-IA (plus one lifecycle transition per object). Athena is not
 * included: it is priced per query (per TB scanned), only when someone queries.
 */
export interface ArchiveCostInputs {
  bufferMb: number;
  bufferSeconds: number;
  iaDays: number;
  /** The storage line prices the month when the archive holds this many months of records. */
  months: number;
}

/** gzip of the raw records: measured 0.162 on 3 x 20,000 generator records (443 B each, envelope included). */
export const ARCHIVE_GZIP_RATIO = 0.162;
const GB = 1024 ** 3;
const DAYS_PER_MONTH = PRICES.hoursPerMonth / 24;

export interface ArchiveCostLine {
  component: string;
  priceSource: string;
  basis: string;
  monthly: number;
}

export function archiveCostLines(
  archive: ArchiveCostInputs,
  m: { events: number; eventsPerSecond: number; rawBytes: number },
  fmt: (value: number) => string,
): ArchiveCostLine[] {
  const firehose = PRICES.firehose;
  const s3 = PRICES.s3;
  const billedBytes = Math.ceil(m.rawBytes / firehose.recordIncrementBytes) * firehose.recordIncrementBytes;
  const ingestedGb = (m.events * billedBytes) / GB;
  // Records plus the newline Firehose appends; one object per full buffer or per interval.
  const rawPerMonth = m.events * (m.rawBytes + 1);
  const bytesPerObject = Math.min(archive.bufferMb * 1024 * 1024, m.eventsPerSecond * (m.rawBytes + 1) * Math.max(1, archive.bufferSeconds));
  const objectsPerMonth = rawPerMonth / bytesPerObject;
  const storedGbPerMonth = (rawPerMonth * ARCHIVE_GZIP_RATIO) / GB;
  const standardMonths = Math.min(archive.months, archive.iaDays / DAYS_PER_MONTH);
  const iaMonths = Math.max(0, archive.months - standardMonths);
  const standardGb = storedGbPerMonth * standardMonths;
  const iaGb = storedGbPerMonth * iaMonths;
  // Objects enter Standard-IA at the rate they are written, once the archive is older than iaDays.
  const transitions = iaMonths > 0 ? objectsPerMonth : 0;
  return [
    {
      component: 'Firehose (raw archive)',
      priceSource: firehose.page,
      basis: `${fmt(m.events)} records x ${fmt(billedBytes / 1024)} KB billed = ${fmt(ingestedGb)} GB x $${firehose.perGbIngested}`,
      monthly: ingestedGb * firehose.perGbIngested,
    },
    {
      component: 'S3 (raw archive)',
      priceSource: s3.page,
      basis:
        `${fmt(objectsPerMonth)} PUTs x $${s3.perThousandPuts}/1000; after ${archive.months} months: ${fmt(standardGb)} GB Standard x $${s3.standardPerGbMonth}` +
        ` + ${fmt(iaGb)} GB Standard-IA x $${s3.standardIaPerGbMonth} (gzip ${ARCHIVE_GZIP_RATIO}); ${fmt(transitions)} transitions x $${s3.perThousandIaTransitions}/1000`,
      monthly:
        (objectsPerMonth / 1000) * s3.perThousandPuts +
        standardGb * s3.standardPerGbMonth +
        iaGb * s3.standardIaPerGbMonth +
        (transitions / 1000) * s3.perThousandIaTransitions,
    },
  ];
}
