import { z } from 'zod';
import { mulberry32 } from '../../lambdas/generator/traffic';

/**
 * Faults the local cloud injects on its real paths (contract §5): DynamoDB throttling and
 * outages, Kinesis PutRecords entry failures and GetRecords throttling, SQS SendMessageBatch
 * entry failures, and function crashes and timeouts. Shares are probabilities per request or per
 * batch entry; a seed makes the sequence of decisions repeatable.
 *
 * One `FaultController` per local cloud: the endpoint asks it per request or entry, the Lambda
 * runtime per invocation, and `{AwsEndpoint}/_local/faults` reads and replaces its set.
 */

const share = z.number().min(0).max(1);
const functionShare = z.object({ function: z.string().min(1), share }).strict();

export const faultSetSchema = z
  .object({
    seed: z.number().int().optional(),
    dynamodb: z.object({ throttle: share.optional(), unavailableForSeconds: z.number().min(0).max(3600).optional() }).strict().optional(),
    kinesis: z.object({ putRecordsEntryFailure: share.optional(), getRecordsThrottle: share.optional() }).strict().optional(),
    sqs: z.object({ sendEntryFailure: share.optional() }).strict().optional(),
    // PutObject answered 503 SlowDown, as S3 does under load: the local Firehose must retry.
    s3: z.object({ putObjectFailure: share.optional() }).strict().optional(),
    // The RDS Data API answers DatabaseResumingException, as Aurora does while it resumes from zero ACUs.
    rdsData: z.object({ resuming: share.optional() }).strict().optional(),
    lambda: z
      .object({
        crash: z.union([functionShare, z.array(functionShare)]).optional(),
        timeout: z.union([functionShare, z.array(functionShare)]).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type FaultSet = z.infer<typeof faultSetSchema>;

/** Parses a fault set from JSON text or a value; the error lists every problem. */
export function parseFaultSet(input: unknown): FaultSet {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new Error(`faults are not JSON: ${(error as Error).message}`);
    }
  }
  const result = faultSetSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`invalid faults: ${problems.join('; ')}`);
  }
  return result.data;
}

export type FaultKind =
  | 'dynamodb.throttle'
  | 'dynamodb.unavailable'
  | 'kinesis.putRecordsEntryFailure'
  | 'kinesis.getRecordsThrottle'
  | 'sqs.sendEntryFailure'
  | 's3.putObjectFailure'
  | 'rdsData.resuming'
  | 'lambda.crash'
  | 'lambda.timeout';

export interface FaultState {
  active: FaultSet;
  /** ISO time until which DynamoDB answers 503 (set from unavailableForSeconds when the set was applied). */
  dynamodbUnavailableUntil?: string;
  /** How many faults of each kind were injected since the set was applied. */
  injected: Partial<Record<FaultKind, number>>;
}


export class FaultController {
  private set: FaultSet = {};
  private random: () => number = Math.random;
  private unavailableUntil = 0;
  private injected: Partial<Record<FaultKind, number>> = {};

  constructor(
    initial: FaultSet = {},
    private readonly now: () => number = Date.now,
  ) {
    this.apply(initial);
  }

  /** Replaces the active set (and restarts the seeded sequence and the counts). */
  apply(faults: FaultSet): void {
    this.set = structuredClone(faults);
    this.random = faults.seed === undefined ? Math.random : mulberry32(faults.seed);
    const seconds = faults.dynamodb?.unavailableForSeconds ?? 0;
    this.unavailableUntil = seconds > 0 ? this.now() + seconds * 1000 : 0;
    this.injected = {};
  }

  clear(): void {
    this.apply({});
  }

  state(): FaultState {
    return {
      active: structuredClone(this.set),
      ...(this.unavailableUntil > this.now() ? { dynamodbUnavailableUntil: new Date(this.unavailableUntil).toISOString() } : {}),
      injected: { ...this.injected },
    };
  }

  /** True when any fault is configured (the endpoint's fast path skips all checks otherwise). */
  get any(): boolean {
    return Object.keys(this.set).some((key) => key !== 'seed');
  }

  /** Whether a fault of this kind is set at all: the endpoint reads only the requests a set fault concerns. */
  configured(kind: FaultKind): boolean {
    const positive = (value: number | undefined) => value !== undefined && value > 0;
    switch (kind) {
      case 'dynamodb.throttle':
        return positive(this.set.dynamodb?.throttle);
      case 'dynamodb.unavailable':
        return this.unavailableUntil > this.now();
      case 'kinesis.putRecordsEntryFailure':
        return positive(this.set.kinesis?.putRecordsEntryFailure);
      case 'kinesis.getRecordsThrottle':
        return positive(this.set.kinesis?.getRecordsThrottle);
      case 'sqs.sendEntryFailure':
        return positive(this.set.sqs?.sendEntryFailure);
      case 's3.putObjectFailure':
        return positive(this.set.s3?.putObjectFailure);
      case 'rdsData.resuming':
        return positive(this.set.rdsData?.resuming);
      case 'lambda.crash':
        return this.set.lambda?.crash !== undefined;
      case 'lambda.timeout':
        return this.set.lambda?.timeout !== undefined;
    }
  }

  /** The next number of the seeded sequence, in [0, 1): for a fault's details (e.g. when a crash strikes). */
  draw(): number {
    return this.random();
  }

  private roll(kind: FaultKind, probability: number | undefined): boolean {
    if (probability === undefined || probability <= 0) return false;
    const hit = probability >= 1 || this.random() < probability;
    if (hit) this.injected[kind] = (this.injected[kind] ?? 0) + 1;
    return hit;
  }

  /** DynamoDB is in an outage window: every request answers 503. */
  dynamodbUnavailable(): boolean {
    if (this.unavailableUntil <= this.now()) return false;
    this.injected['dynamodb.unavailable'] = (this.injected['dynamodb.unavailable'] ?? 0) + 1;
    return true;
  }

  /** Per DynamoDB request (or per BatchWriteItem entry): throttle it. */
  dynamodbThrottle(): boolean {
    return this.roll('dynamodb.throttle', this.set.dynamodb?.throttle);
  }

  /** Per PutRecords entry: fail it with ProvisionedThroughputExceededException. */
  kinesisPutEntryFailure(): boolean {
    return this.roll('kinesis.putRecordsEntryFailure', this.set.kinesis?.putRecordsEntryFailure);
  }

  /** Per GetRecords request: throttle it. */
  kinesisGetRecordsThrottle(): boolean {
    return this.roll('kinesis.getRecordsThrottle', this.set.kinesis?.getRecordsThrottle);
  }

  /** Per SendMessageBatch entry: fail it. */
  sqsSendEntryFailure(): boolean {
    return this.roll('sqs.sendEntryFailure', this.set.sqs?.sendEntryFailure);
  }

  /** Per S3 PutObject request: answer 503 SlowDown. */
  s3PutObjectFailure(): boolean {
    return this.roll('s3.putObjectFailure', this.set.s3?.putObjectFailure);
  }

  /** Per Data API request outside a transaction: answer DatabaseResumingException. */
  rdsDataResuming(): boolean {
    return this.roll('rdsData.resuming', this.set.rdsData?.resuming);
  }

  /**
   * Per invocation of a function (matched by construct id in its name, e.g. `Loader`): crash it
   * or let it time out. At most one of the two per invocation.
   */
  lambdaFault(functionName: string): 'crash' | 'timeout' | undefined {
    type Rules = z.infer<typeof functionShare> | Array<z.infer<typeof functionShare>> | undefined;
    const matching = (rule: Rules) =>
      (rule === undefined ? [] : Array.isArray(rule) ? rule : [rule]).filter((r) => functionName.includes(r.function));
    for (const rule of matching(this.set.lambda?.crash)) if (this.roll('lambda.crash', rule.share)) return 'crash';
    for (const rule of matching(this.set.lambda?.timeout)) if (this.roll('lambda.timeout', rule.share)) return 'timeout';
    return undefined;
  }
}
