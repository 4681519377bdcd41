import { createTrafficGenerator } from './traffic';
import { sendEvents, type SendOptions, type SendSummary } from './send';

export interface GeneratorConfig {
  ingestUrl: string;
  eventsPerRun: number;
  invalidShare: number;
}

export interface GeneratorRun {
  generated: { total: number; intendedInvalid: number };
  summary: SendSummary;
}

/** One scheduled run: a batch of realistic traffic, sent to the ingest API. */
export async function runGenerator(
  config: GeneratorConfig,
  deps: Omit<SendOptions, 'ingestUrl'> & { seed?: number; now?: () => Date },
): Promise<GeneratorRun> {
  const { seed, now, ...sendOptions } = deps;
  const traffic = createTrafficGenerator({
    invalidShare: config.invalidShare,
    ...(seed === undefined ? {} : { seed }),
    ...(now === undefined ? {} : { now }),
  });
  const generated = traffic.batch(Math.max(0, Math.floor(config.eventsPerRun)));
  const summary = await sendEvents(
    generated.map((g) => g.event),
    { ...sendOptions, ingestUrl: config.ingestUrl },
  );
  return {
    generated: { total: generated.length, intendedInvalid: generated.filter((g) => !g.intendedValid).length },
    summary,
  };
}
