import { afterEach, describe, expect, it } from 'vitest';
import { createLambdaRuntime, type LambdaRuntime } from '../../../tools/local-cloud/lambda-runtime';
import { ACCOUNT_ID, REGION, fixtureDir, functionResource } from '../../fixtures/local-functions/resources';

const ENDPOINT = 'http://127.0.0.1:4599';
let runtime: LambdaRuntime | undefined;

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

function start(resources: Parameters<typeof createLambdaRuntime>[0]['resources'], poolSize?: number, log?: (line: string) => void) {
  runtime = createLambdaRuntime({ resources, endpoint: ENDPOINT, region: REGION, accountId: ACCOUNT_ID, poolSize, log });
  return runtime;
}

describe('local Lambda runtime', () => {
  it('describes the functions from the template', () => {
    const lambda = start([functionResource('Echo', 'echo', { timeout: 7, memory: 512, environment: { TABLE: 't' } })]);
    expect(lambda.functions).toEqual([
      {
        logicalId: 'Echo',
        functionName: 'local-Echo',
        arn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:local-Echo`,
        assetDir: fixtureDir('echo'),
        handler: 'index.handler',
        runtime: 'nodejs20.x',
        timeoutSeconds: 7,
        memoryMb: 512,
        environment: { TABLE: 't' },
      },
    ]);
  });

  it('invokes by name or ARN and returns the payload, with the template env, endpoint, credentials and context', async () => {
    const lambda = start([functionResource('Echo', 'echo', { memory: 384, environment: { RAW_STREAM_NAME: 'raw-stream' } })]);
    const byName = await lambda.invoke('local-Echo', { hello: 'world' });
    const byArn = await lambda.invoke(`arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:local-Echo`, { n: 2 });
    expect(byArn).toMatchObject({ ok: true, payload: { event: { n: 2 } } });
    expect(byName.ok).toBe(true);
    const payload = (byName as { payload: { event: unknown; env: Record<string, string>; execArgv: string[]; context: Record<string, unknown> } })
      .payload;
    expect(payload.event).toEqual({ hello: 'world' });
    expect(payload.env).toMatchObject({
      RAW_STREAM_NAME: 'raw-stream',
      AWS_ENDPOINT_URL: ENDPOINT,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_LAMBDA_FUNCTION_NAME: 'local-Echo',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '384',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/local-Echo',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
      LAMBDA_TASK_ROOT: fixtureDir('echo'),
    });
    expect(payload.execArgv).toContain('--max-old-space-size=384');
    expect(payload.context).toMatchObject({
      functionName: 'local-Echo',
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:local-Echo`,
      memoryLimitInMB: '384',
      logGroupName: '/aws/lambda/local-Echo',
    });
    expect(payload.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.context.remainingTimeInMillis).toBeGreaterThan(0);
  });

  it('answers an unknown function with ResourceNotFoundException', async () => {
    const lambda = start([functionResource('Echo', 'echo')]);
    expect(await lambda.invoke('nope', {})).toMatchObject({ ok: false, errorType: 'ResourceNotFoundException' });
  });

  it('maps a thrown error to errorType and errorMessage', async () => {
    const lines: string[] = [];
    const lambda = start([functionResource('Fail', 'fail')], 2, (line) => lines.push(line));
    const result = await lambda.invoke('local-Fail', { orderId: 'o-1' });
    expect(result).toMatchObject({ ok: false, errorType: 'OrderRejected', errorMessage: 'rejected o-1' });
    expect(lines.some((line) => line.startsWith('[Fail] ') && line.includes('OrderRejected'))).toBe(true);
  });

  it('kills a function at its timeout, reports Sandbox.Timedout and serves the next invocation from a new process', async () => {
    const lambda = start([functionResource('Sleepy', 'sleep', { timeout: 1 })], 1);
    const first = await lambda.invoke('local-Sleepy', { ms: 0 });
    const timedOut = await lambda.invoke('local-Sleepy', { ms: 60_000 });
    expect(timedOut).toMatchObject({ ok: false, errorType: 'Sandbox.Timedout', timedOut: true });
    const after = await lambda.invoke('local-Sleepy', { ms: 0 });
    expect(after.ok).toBe(true);
    const firstPid = (first as { payload: { pid: number } }).payload.pid;
    const afterPid = (after as { payload: { pid: number } }).payload.pid;
    expect(afterPid).not.toBe(firstPid);
    expect(() => process.kill(firstPid, 0)).toThrow();
  });

  it('respawns a process that crashed mid-invocation', async () => {
    const lambda = start([functionResource('Crashy', 'crash')], 1);
    const crashed = await lambda.invoke('local-Crashy', { crash: true });
    expect(crashed).toMatchObject({ ok: false, errorType: 'Runtime.ExitError' });
    expect(await lambda.invoke('local-Crashy', { crash: false })).toMatchObject({ ok: true });
  });

  it('runs two invocations at once in two processes of the pool, and queues when the pool is busy', async () => {
    const lambda = start([functionResource('Sleepy', 'sleep')], 2);
    const results = await Promise.all([0, 1, 2, 3].map(() => lambda.invoke('local-Sleepy', { ms: 300 })));
    const pids = results.map((result) => (result as { payload: { pid: number } }).payload.pid);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(new Set(pids).size).toBe(2);
  });

  it('serves invocations one at a time with a pool of one', async () => {
    const lambda = start([functionResource('Sleepy', 'sleep')], 1);
    const results = await Promise.all([0, 1, 2].map(() => lambda.invoke('local-Sleepy', { ms: 100 })));
    expect(new Set(results.map((result) => (result as { payload: { pid: number } }).payload.pid)).size).toBe(1);
  });

  it('prefixes log lines with the logical id and totals EMF metrics even when the log drops lines', async () => {
    const lines: string[] = [];
    const lambda = start([functionResource('Emitter', 'emf-emitter')], 1, (line) => lines.push(line));
    await lambda.invoke('local-Emitter', { received: 3, accepted: [1, 1] });
    await lambda.invoke('local-Emitter', { received: 4, accepted: 2 });
    // Output lines travel on their own pipe, so they may trail the invocation result briefly.
    const deadline = Date.now() + 5_000;
    while (lambda.metrics().EventsReceived !== 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(lines).toContain('[Emitter] plain log line before the metrics');
    expect(lambda.metrics()).toEqual({ EventsReceived: 7, EventsAccepted: 4 });

    const quiet = createLambdaRuntime({
      resources: [functionResource('Emitter', 'emf-emitter')],
      endpoint: ENDPOINT,
      region: REGION,
      accountId: ACCOUNT_ID,
      log: () => undefined,
    });
    try {
      await quiet.invoke('local-Emitter', { received: 5, accepted: 0 });
      const quietDeadline = Date.now() + 5_000;
      while (quiet.metrics().EventsReceived !== 5 && Date.now() < quietDeadline) await new Promise((r) => setTimeout(r, 20));
      expect(quiet.metrics()).toEqual({ EventsReceived: 5, EventsAccepted: 0 });
    } finally {
      await quiet.stop();
    }
  });
});
