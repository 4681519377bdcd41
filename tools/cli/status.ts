/** `pipeline status`: the verdict (HEALTHY / DEGRADED / NO_DATA) and its reasons from the signals (status-signals.ts reads them), and its output. */
import { METRIC } from '../../lambdas/shared/metric-names';
import { formatAge } from './format';
import { escapeControl } from './terminal-text';

export type Health = 'HEALTHY' | 'DEGRADED' | 'NO_DATA';

/** Scriptable exit codes; 1 stays "the command failed". */
export const STATUS_EXIT_CODES: Record<Health, number> = { HEALTHY: 0, DEGRADED: 2, NO_DATA: 3 };

export interface Thresholds {
  /** Valid / (valid + invalid) below this is DEGRADED. */
  minValidity: number;
  /** The oldest DeadLetterQueue message older than this is DEGRADED (nobody is looking at it). */
  maxDlqAgeSeconds: number;
  /** Stream iterator age above this is DEGRADED (the consumers fall behind). */
  maxIteratorAgeSeconds: number;
  /** Window for "recent": nothing received and nothing stored within it is NO_DATA. */
  windowSeconds: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  minValidity: 0.95,
  maxDlqAgeSeconds: 3600,
  maxIteratorAgeSeconds: 60,
  windowSeconds: 900,
};

/** What status looks at; counts are totals since start locally and over the window on AWS. */
export interface StatusSignals {
  source: 'local-counters' | 'cloudwatch';
  counts: Record<string, number>;
  dlqDepth: number;
  dlqOldestAgeSeconds?: number;
  /** Largest GetRecords iterator age over both streams (AWS). */
  iteratorAgeSeconds?: number;
  /**
   * Records written but not yet seen downstream, from the counters (local). Not floored: a
   * negative value means the counters disagree, which status says rather than hides.
   */
  backlog?: Backlog;
  lastStoredAt?: Date;
  /** How lastStoredAt was found, for the reader. */
  lastStoredBasis?: string;
  /** Messages in StreamFailureQueue: record ranges an event source gave up on (when the output is known). */
  streamFailureDepth?: number;
  /** The stack's CloudWatch alarms and their states (AWS: DescribeAlarms by the `<StackName>-` prefix). */
  alarms?: AlarmSignal[];
}

export interface AlarmSignal {
  name: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason: string;
  since?: Date;
}

export interface Reason {
  severity: 'degraded' | 'no_data' | 'warn' | 'info';
  message: string;
}

export interface StatusReport {
  status: Health;
  reasons: Reason[];
  signals: StatusSignals;
  thresholds: Thresholds;
}

const n = (counts: Record<string, number>, name: string) => counts[name] ?? 0;

export interface Backlog {
  /** First-pass events accepted by the collector and not yet judged by the validator. */
  validator: number;
  /** Events the validator handed on to the processed stream and the loader has not yet handled. */
  loader: number;
}

/**
 * From the counters: the validator's EventsValid / EventsInvalid count only first-pass records
 * (redriven and replayed ones have their own counters), so accepted - valid - invalid is what
 * the validator has still to judge. The loader gets first-pass valid, redriven-valid and replayed
 * events; a replay with --include-invalid (EventsReplayed counts the invalid ones too) or of the
 * processed stream makes its number approximate.
 */
export function backlogFrom(counts: Record<string, number>): Backlog {
  return {
    validator: n(counts, METRIC.EventsAccepted) - n(counts, METRIC.EventsValid) - n(counts, METRIC.EventsInvalid),
    loader:
      n(counts, METRIC.EventsValid) +
      n(counts, METRIC.EventsRedriven) +
      n(counts, METRIC.EventsReplayed) -
      n(counts, METRIC.EventsStored) -
      n(counts, METRIC.EventsDuplicate) -
      n(counts, METRIC.LoadFailed),
  };
}

/** The verdict: NO_DATA when nothing arrives or is stored; DEGRADED on any degrading reason. */
export function evaluateStatus(signals: StatusSignals, thresholds: Thresholds, now: Date): StatusReport {
  const reasons: Reason[] = [];
  const { counts } = signals;
  const received = n(counts, METRIC.EventsReceived) || n(counts, METRIC.EventsAccepted);
  const judged = n(counts, METRIC.EventsValid) + n(counts, METRIC.EventsInvalid);
  const scope = signals.source === 'cloudwatch' ? `in the last ${formatAge(thresholds.windowSeconds)}` : 'since the local cloud started';
  const storedAge = signals.lastStoredAt ? (now.getTime() - signals.lastStoredAt.getTime()) / 1000 : undefined;
  const storedRecently = storedAge !== undefined && storedAge <= thresholds.windowSeconds;
  const storedAny = n(counts, METRIC.EventsStored) > 0 || storedRecently;

  if (received === 0 && !storedAny) {
    reasons.push({
      severity: 'no_data',
      message: `no events received ${scope} and ${signals.lastStoredAt ? `the last stored event was ${formatAge(storedAge)} ago` : 'no stored event found'}`,
    });
  }
  if (judged > 0) {
    const validity = n(counts, METRIC.EventsValid) / judged;
    const line = `validity ${(validity * 100).toFixed(1)}% (${n(counts, METRIC.EventsValid)} valid, ${n(counts, METRIC.EventsInvalid)} invalid ${scope})`;
    reasons.push(
      validity < thresholds.minValidity
        ? { severity: 'degraded', message: `${line} is under ${(thresholds.minValidity * 100).toFixed(1)}%` }
        : { severity: 'info', message: line },
    );
  }
  if (signals.dlqDepth > 0) {
    const age = signals.dlqOldestAgeSeconds;
    const line = `${signals.dlqDepth} message(s) in the DeadLetterQueue, oldest ${formatAge(age)}`;
    reasons.push(
      age !== undefined && age > thresholds.maxDlqAgeSeconds
        ? { severity: 'degraded', message: `${line} (older than ${formatAge(thresholds.maxDlqAgeSeconds)}): see pipeline dlq stats` }
        : { severity: 'warn', message: `${line}: see pipeline dlq stats` },
    );
  }
  if (signals.iteratorAgeSeconds !== undefined) {
    const line = `stream iterator age ${formatAge(signals.iteratorAgeSeconds)}`;
    reasons.push(
      signals.iteratorAgeSeconds > thresholds.maxIteratorAgeSeconds
        ? { severity: 'degraded', message: `${line} is over ${formatAge(thresholds.maxIteratorAgeSeconds)}: the consumers fall behind` }
        : { severity: 'info', message: line },
    );
  }
  const redriven = n(counts, METRIC.EventsRedriven);
  const redriveFailed = n(counts, METRIC.EventsRedriveFailed);
  const replayed = n(counts, METRIC.EventsReplayed);
  if (redriven + redriveFailed + replayed > 0) {
    reasons.push({
      severity: 'info',
      message: `redriven ${redriven + redriveFailed} (${redriven} valid now, ${redriveFailed} still invalid), replayed ${replayed} ${scope}; not part of validity`,
    });
  }
  if (signals.backlog) {
    const { validator, loader } = signals.backlog;
    if (validator >= 0 && loader >= 0) {
      reasons.push({
        severity: 'info',
        message: `backlog: ${validator} raw record(s) not yet validated, ${loader} valid event(s) not yet loaded`,
      });
    }
    if (validator < 0) {
      reasons.push({
        severity: 'warn',
        message:
          `counters are inconsistent: the validator judged ${-validator} more first-pass event(s) than the collector accepted ` +
          '(EventsValid + EventsInvalid > EventsAccepted: records put on the raw stream by another producer, or a failure range ' +
          'replayed whose records the validator had judged already), so the backlog is unknown',
      });
    }
    if (loader < 0) {
      reasons.push({
        severity: 'warn',
        message:
          `counters are inconsistent: the loader handled ${-loader} more event(s) than the validator handed on ` +
          '(a replay of the processed stream does that), so the loader backlog is unknown',
      });
    }
  }
  if (n(counts, METRIC.LoadFailed) > 0) {
    // Not something a retry fixes: the loader gave up on these events (it logged each at ERROR).
    reasons.push({
      severity: 'degraded',
      message: `${n(counts, METRIC.LoadFailed)} event(s) failed to load ${scope} (reason load_failed in the DLQ): see pipeline dlq stats --reason load_failed`,
    });
  }
  if (signals.streamFailureDepth !== undefined && signals.streamFailureDepth > 0) {
    reasons.push({
      severity: 'degraded',
      message: `${signals.streamFailureDepth} record range(s) given up on in StreamFailureQueue: see pipeline replay`,
    });
  }
  if (signals.alarms) {
    const firing = signals.alarms.filter((alarm) => alarm.state === 'ALARM');
    for (const alarm of firing) {
      const since = alarm.since ? ` since ${alarm.since.toISOString()} (${formatAge((now.getTime() - alarm.since.getTime()) / 1000)} ago)` : '';
      reasons.push({ severity: 'degraded', message: `alarm ${alarm.name} is in ALARM${since}: ${alarm.reason}` });
    }
    if (signals.alarms.length === 0) {
      reasons.push({ severity: 'warn', message: 'no CloudWatch alarm of this stack found (deployed before the Observability construct?)' });
    } else if (firing.length === 0) {
      const noData = signals.alarms.filter((alarm) => alarm.state === 'INSUFFICIENT_DATA').length;
      reasons.push({
        severity: 'info',
        message: `alarms: none of ${signals.alarms.length} firing${noData > 0 ? ` (${noData} without data yet)` : ''}`,
      });
    }
  }
  if (received > 0 && n(counts, METRIC.EventsValid) > 0 && !storedAny) {
    reasons.push({ severity: 'degraded', message: `events are received and valid ${scope} but none was stored` });
  }
  if (signals.lastStoredAt) {
    reasons.push({ severity: 'info', message: `last stored event: ${signals.lastStoredAt.toISOString()} (${signals.lastStoredBasis ?? ''})` });
  }
  const status: Health = reasons.some((r) => r.severity === 'no_data')
    ? 'NO_DATA'
    : reasons.some((r) => r.severity === 'degraded')
      ? 'DEGRADED'
      : 'HEALTHY';
  return { status, reasons, signals, thresholds };
}

const MARKS: Record<Reason['severity'], string> = { no_data: '!', degraded: '!', warn: '~', info: ' ' };

/** The human output: the verdict, then one line per reason (escaped: they may quote stored values). */
export function formatStatus(report: StatusReport): string {
  return [
    `${report.status}  (${report.signals.source})`,
    ...report.reasons.map((reason) => ` ${MARKS[reason.severity]} ${escapeControl(reason.message)}`),
  ].join('\n');
}
