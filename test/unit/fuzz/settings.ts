import fc from 'fast-check';

/**
 * Every property here runs from one fixed seed, so `npm test` is repeatable; fast-check prints the
 * seed and the counterexample's path when a property fails. To explore further, or to replay:
 *   FUZZ_SEED=12345 FUZZ_RUNS=5 npx vitest run test/unit/fuzz    (FUZZ_RUNS multiplies numRuns)
 * A failure prints `{ seed: ..., path: "..." }`; `fuzzParams(n, { path })` replays exactly that case.
 */
export const FUZZ_SEED = Number.parseInt(process.env.FUZZ_SEED ?? '', 10) || 20_261_130;
const RUNS_FACTOR = Number.parseFloat(process.env.FUZZ_RUNS ?? '') || 1;

export function fuzzParams<T>(numRuns: number, extra: Partial<fc.Parameters<T>> = {}): fc.Parameters<T> {
  return {
    seed: FUZZ_SEED,
    numRuns: Math.max(1, Math.round(numRuns * RUNS_FACTOR)),
    // Shrinking a failure can take many runs of a slow property; stop it well inside the test timeout.
    endOnFailure: false,
    ...extra,
  };
}

/** Per-test timeout for a property (vitest's default of 5 s is for example tests). */
export const PROPERTY_TIMEOUT_MS = 120_000;
