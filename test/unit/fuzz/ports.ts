import fc from 'fast-check';

/**
 * Fault plans for a fake batch port (PutRecords, SendMessageBatch): how each call answers.
 * Deterministic: the plan's lists are consumed in turn, so a failing run replays exactly.
 */
export type FaultPlan =
  | { kind: 'none' }
  /** Each entry of each call fails when the next flag of `fails` says so. */
  | { kind: 'entries'; fails: boolean[] }
  /** Each call throws when the next flag of `throws` says so; otherwise all its entries succeed. */
  | { kind: 'throws'; throws: boolean[] }
  /** Both of the above. */
  | { kind: 'mixed'; fails: boolean[]; throws: boolean[] }
  /** Every call throws. */
  | { kind: 'down' };

export const faultPlan: fc.Arbitrary<FaultPlan> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }).map((fails) => ({ kind: 'entries' as const, fails })) },
  { weight: 1, arbitrary: fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }).map((throws) => ({ kind: 'throws' as const, throws })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }))
      .map(([fails, throws]) => ({ kind: 'mixed' as const, fails, throws })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'down' as const }) },
);

export interface FakePort<T> {
  send: (entries: T[]) => Promise<boolean[]>;
  /** Entries acknowledged, each time one was (the same entry twice would be a double write). */
  acked: T[];
  /** Every entry handed to the port, acknowledged or not. */
  attempted: T[];
  calls: number;
  /** True once the port failed an entry or threw: an injected fault took effect in this run. */
  faulted: boolean;
}

export function fakePort<T>(plan: FaultPlan): FakePort<T> {
  let entryTurn = 0;
  let callTurn = 0;
  const port: FakePort<T> = {
    acked: [],
    attempted: [],
    calls: 0,
    faulted: false,
    send: async (entries) => {
      port.calls++;
      port.attempted.push(...entries);
      const throws =
        plan.kind === 'down' ||
        ((plan.kind === 'throws' || plan.kind === 'mixed') && plan.throws[callTurn++ % plan.throws.length]!);
      if (throws) {
        port.faulted = true;
        throw Object.assign(new Error('injected fault: the call failed'), { name: 'ServiceUnavailable' });
      }
      return entries.map((entry) => {
        const fails = (plan.kind === 'entries' || plan.kind === 'mixed') && plan.fails[entryTurn++ % plan.fails.length]!;
        if (fails) {
          port.faulted = true;
          return false;
        }
        port.acked.push(entry);
        return true;
      });
    },
  };
  return port;
}

/** Retries without waiting; the budget never runs out, so maxAttempts bounds them (no timing). */
export const instantRetry = { clock: { now: () => 0, sleep: async () => {}, random: () => 0.5 } };
