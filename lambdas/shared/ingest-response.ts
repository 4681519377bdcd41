import type { FieldError } from './records';

/** What the ingest API did with one event (contract §1). */
export type IngestResultStatus = 'accepted' | 'rejected' | 'retry';

/**
 * One entry of the ingest API's `results` (contract §1), one per event of the request in its
 * order: what the collector answers and what the generator and `pipeline send` read back.
 * `event_id` is the id the event was (or would be) written under, assigned ones included, so a
 * resend of a `retry` result reuses it.
 */
export interface IngestResult {
  index: number;
  event_id: string | null;
  status: IngestResultStatus;
  valid: boolean;
  errors: FieldError[];
}
