import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultController } from '../../../tools/local-cloud/fault-set';
import { MAX_RESPONSE_BYTES } from '../../../tools/local-cloud/lambda-environment';
import { MAX_REQUEST_BYTES, createLambdaRuntime, type LambdaRuntime } from '../../../tools/local-cloud/lambda-runtime';
import type { InvokeResult, LocalResource } from '../../../tools/local-cloud/types';
import { ACCOUNT_ID, REGION, functionResource } from '../../fixtures/local-functions/resources';

const ENDPOINT = 'http://127.0.0.1:4599';
let stateDir: string;
const runtimes: LambdaRuntime[] = [];

beforeAll(() => {
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'lambda-faults-'));
});

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.stop()));
});

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function start(resources: LocalResource[], options: { faults?: FaultController; poolSize?: number; log?: (line: string) => void } = {}) {
  const runtime = createLambdaRuntime({ resources, endpoint: ENDPOINT, region: REGION, accountId: ACCOUNT_ID, poolSize: options.poolSize ?? 1, ...options });
  runtimes.push(runtime);
  return runtime;
}

const stepsFn = (logicalId = 'Loader') => functionResource(logicalId, 'steps', { timeout: 10, environment: { FIXTURE_STATE_DIR: stateDir } });
const stepsWritten = (key: string) => {
  try {
    return readdirSync(path.join(stateDir, key)).length;
  } catch {
    return 0;
  }
};
const failed = (result: InvokeResult) => (result.ok ? undefined : result);

describe('injected function crashes', () => {
  it('kill the environment part-way through the handler: some side effects done, Runtime.ExitError, a new environment next time', async () => {
    const faults = new FaultController();
    const lambda = start([stepsFn()], { faults });
    // A clean run first, so the crash window spans a typical run of the function (10 steps, ~150 ms).
    const clean = await lambda.invoke('local-Loader', { key: 'clean', steps: 10, stepMs: 15 });
    expect(clean).toMatchObject({ ok: true, payload: { steps: 10 } });

    faults.apply({ seed: 7, lambda: { crash: { function: 'Loader', share: 1 } } });
    const written: number[] = [];
    for (let n = 0; n < 6; n += 1) {
      // Far longer than a typical run (even a cold one), so the kill always lands before the handler returns.
      const result = await lambda.invoke('local-Loader', { key: `crash-${n}`, steps: 40, stepMs: 15 });
      expect(failed(result)).toMatchObject({ ok: false, errorType: 'Runtime.ExitError' });
      expect(failed(result)!.errorMessage).toMatch(/^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$/);
      written.push(stepsWritten(`crash-${n}`));
    }
    // The kill lands anywhere in a typical run: at least one crash left the handler's writes half done
    expect(written.some((steps) => steps > 0 && steps < 40), `steps written before each crash: ${written.join(', ')}`).toBe(true);
    expect(faults.state().injected).toEqual({ 'lambda.crash': 6 });

    faults.clear();
    expect(await lambda.invoke('local-Loader', { key: 'after', steps: 2, stepMs: 1 })).toMatchObject({ ok: true });
  });

  it('have no effect when the handler returned before the crash struck: its result stands', async () => {
    // The crash is drawn at the end of the window (49 of 50 ms); the echo handler returns at once.
    class LateCrash extends FaultController {
      override draw(): number {
        return 0.99;
      }
    }
    const faults = new LateCrash({ lambda: { crash: { function: 'Echo', share: 1 } } });
    const lambda = start([functionResource('Echo', 'echo')], { faults });
    await lambda.invoke('local-Echo', { warm: true });
    const result = await lambda.invoke('local-Echo', { n: 1 });
    expect(result).toMatchObject({ ok: true });
    expect(faults.state().injected['lambda.crash']).toBe(2);
  });

  it('are decided per invocation from the seeded sequence, so a seed repeats them', async () => {
    const run = async () => {
      const faults = new FaultController({ seed: 42, lambda: { crash: { function: 'Loader', share: 0.5 } } });
      const lambda = start([stepsFn()], { faults });
      const outcomes: string[] = [];
      for (let n = 0; n < 8; n += 1) {
        // Longer than the 50 ms crash window: a drawn crash always lands inside the handler.
        const before = faults.state().injected['lambda.crash'] ?? 0;
        await lambda.invoke('local-Loader', { key: `seeded-${n}-${Math.random()}`, steps: 10, stepMs: 20 });
        outcomes.push((faults.state().injected['lambda.crash'] ?? 0) > before ? 'crash' : 'none');
      }
      await lambda.stop();
      return outcomes;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(first).toContain('none');
    expect(first).toContain('crash');
  });

  it('draw the kill delay from the same seeded sequence', async () => {
    const firstDelay = async () => {
      const lines: string[] = [];
      const faults = new FaultController({ seed: 9, lambda: { crash: { function: 'Loader', share: 1 } } });
      const lambda = start([stepsFn()], { faults, log: (line) => lines.push(line) });
      await lambda.invoke('local-Loader', { key: `delay-${Math.random()}`, steps: 1, stepMs: 1 });
      await lambda.stop();
      return lines.find((line) => line.includes('injected fault'))!.replace(/^.* injected/, 'injected');
    };
    const first = await firstDelay();
    expect(first).toMatch(/^injected fault: crash \d+ ms into the invocation$/);
    expect(await firstDelay()).toBe(first);
  });

  it('leave other functions alone', async () => {
    const faults = new FaultController({ seed: 1, lambda: { crash: { function: 'Loader', share: 1 } } });
    const lambda = start([stepsFn('Validator')], { faults });
    expect(await lambda.invoke('local-Validator', { key: 'other', steps: 1, stepMs: 1 })).toMatchObject({ ok: true });
    expect(faults.state().injected).toEqual({});
  });
});

describe('injected function timeouts', () => {
  it('answer as the real timeout does, without waiting for the configured timeout', async () => {
    const faults = new FaultController({ seed: 5, lambda: { timeout: { function: 'Sleepy', share: 1 } } });
    const lambda = start([functionResource('Sleepy', 'sleep', { timeout: 30 })], { faults });
    const began = Date.now();
    const result = await lambda.invoke('local-Sleepy', { ms: 20_000 });
    expect(result).toMatchObject({ ok: false, errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 30.00 seconds', timedOut: true });
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(faults.state().injected).toEqual({ 'lambda.timeout': 1 });
  });
});

describe('the init phase', () => {
  it('is not charged to the first invocation: a 1.5 s init with a 1 s timeout succeeds, with the whole timeout left', async () => {
    const lambda = start([functionResource('SlowInit', 'slow-init', { timeout: 1, environment: { INIT_MS: '1500' } })]);
    const result = await lambda.invoke('local-SlowInit', {});
    expect(result.ok).toBe(true);
    const payload = (result as { payload: { initMs: number; remainingTimeInMillis: number } }).payload;
    expect(payload.initMs).toBeGreaterThanOrEqual(1400);
    expect(payload.remainingTimeInMillis).toBeGreaterThan(500);
  });

  it('reports an init failure, then initialises a fresh environment on the next invocation', async () => {
    const lines: string[] = [];
    const lambda = start([functionResource('InitFail', 'init-fail', { environment: { FIXTURE_STATE_DIR: path.join(stateDir, 'init-fail') } })], {
      log: (line) => lines.push(line),
    });
    expect(await lambda.invoke('local-InitFail', {})).toMatchObject({ ok: false, errorType: 'TypeError', errorMessage: 'cannot read the configuration' });
    expect(lines.some((line) => line.includes('INIT_REPORT') && line.includes('Status: error'))).toBe(true);
    expect(await lambda.invoke('local-InitFail', {})).toMatchObject({ ok: true });
  });

  it('reports a missing dependency as Runtime.ImportModuleError', async () => {
    const lambda = start([functionResource('Missing', 'import-missing')]);
    const result = await lambda.invoke('local-Missing', {});
    expect(result).toMatchObject({ ok: false, errorType: 'Runtime.ImportModuleError' });
    expect(failed(result)!.errorMessage).toContain('no-such-package-in-this-bundle');
  });
});

describe('synchronous payload limits (6 MB)', () => {
  it('refuses a request over 6 MiB before running the function', async () => {
    const lambda = start([functionResource('Echo', 'echo')]);
    const result = await lambda.invoke('local-Echo', { data: 'x'.repeat(MAX_REQUEST_BYTES) });
    expect(result).toMatchObject({
      ok: false,
      errorType: 'RequestEntityTooLargeException',
      errorMessage: `Request must be smaller than ${MAX_REQUEST_BYTES} bytes for the InvokeFunction operation`,
    });
  });

  it('fails a response over the limit with Function.ResponseSizeTooLarge, and passes one at the limit', async () => {
    const lambda = start([functionResource('Big', 'big-response')]);
    const atLimit = await lambda.invoke('local-Big', { bytes: MAX_RESPONSE_BYTES - 2 });
    expect(atLimit.ok).toBe(true);
    const over = await lambda.invoke('local-Big', { bytes: MAX_RESPONSE_BYTES - 1 });
    expect(over).toMatchObject({
      ok: false,
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
    });
  });
});
