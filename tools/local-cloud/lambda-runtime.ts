import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MetricAccumulator } from './emf';
import type { FaultController } from './fault-set';
import type { FunctionSpec, InvokeResult, Invoker, LocalResource, MetricTotals } from './types';

/**
 * The local Lambda service: every function of the template runs in its own child processes
 * (lambda-worker.mjs), one invocation at a time per process, with a small pool per function
 * for concurrency. The template's timeout is enforced by killing the process, as Lambda does;
 * its clock starts when the handler is invoked, after the init phase (module import), which has a
 * budget of its own. Synchronous payload limits (6 MB request and response) apply, and a
 * FaultController can crash an invocation or time it out.
 */

export interface LambdaRuntime extends Invoker {
  functions: FunctionSpec[];
  metrics(): MetricTotals;
  stop(): Promise<void>;
}

export interface LambdaRuntimeOptions {
  resources: LocalResource[];
  endpoint: string;
  region: string;
  accountId: string;
  /** Execution environments per function (default 2). */
  poolSize?: number;
  log?: (line: string) => void;
  /** Injected function crashes and timeouts (contract §5), decided per invocation. */
  faults?: FaultController;
}

const WORKER_PATH = fileURLToPath(new URL('./lambda-worker.mjs', import.meta.url));
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;

/**
 * The init phase (extensions, runtime bootstrap, the function's static code) has 10 s of its own,
 * not counted against the function's timeout; an init that takes longer goes on within the first
 * invocation, on its timeout. https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
 * (Lambda retries such an init inside the invocation; locally the same init just keeps going, on
 * the invocation's clock.)
 */
export const INIT_BUDGET_MS = 10_000;

/**
 * Synchronous invocation payload, request and response: 6 MB each
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The service counts
 * 6 MiB for a request and 6 MiB + 100 bytes for a response, and answers with these errors.
 */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100;
export const REQUEST_TOO_LARGE = 'RequestEntityTooLargeException';

/** An injected crash kills the environment after at most this long, or the function's typical duration when longer. */
const MIN_CRASH_WINDOW_MS = 50;

/** The functions a template declares, ready to run; functions without a local asset are left out. */
export function functionSpecsFrom(resources: LocalResource[], region: string, accountId: string): FunctionSpec[] {
  return resources
    .filter((resource) => resource.type === 'AWS::Lambda::Function')
    .filter((resource) => typeof resource.properties.__assetDir === 'string')
    .map((resource) => {
      const props = resource.properties;
      const functionName = typeof props.FunctionName === 'string' ? props.FunctionName : resource.ref;
      const variables = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      return {
        logicalId: resource.logicalId,
        functionName,
        arn: resource.attributes.Arn ?? `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
        assetDir: props.__assetDir as string,
        handler: typeof props.Handler === 'string' ? props.Handler : 'index.handler',
        runtime: typeof props.Runtime === 'string' ? props.Runtime : 'nodejs20.x',
        timeoutSeconds: Number(props.Timeout ?? DEFAULT_TIMEOUT_SECONDS),
        memoryMb: Number(props.MemorySize ?? DEFAULT_MEMORY_MB),
        environment: Object.fromEntries(
          Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]),
        ),
      };
    });
}

export function createLambdaRuntime(opts: LambdaRuntimeOptions): LambdaRuntime {
  const functions = functionSpecsFrom(opts.resources, opts.region, opts.accountId);
  const metricsSeen = new MetricAccumulator();
  const poolSize = Math.max(1, opts.poolSize ?? 2);
  const pools = new Map<FunctionSpec, FunctionPool>();
  const byName = new Map<string, FunctionSpec>();
  for (const spec of functions) {
    pools.set(spec, new FunctionPool(spec, poolSize, opts, metricsSeen));
    for (const name of [spec.functionName, spec.arn, spec.logicalId]) byName.set(name, spec);
  }
  let stopped = false;

  return {
    functions,
    async invoke(functionName, event) {
      const spec = byName.get(functionName) ?? byName.get(unqualified(functionName));
      if (!spec) return failure('ResourceNotFoundException', `Function not found: ${functionName}`, 0);
      if (stopped) return failure('Runtime.Stopped', 'The local Lambda runtime is stopped', 0);
      // Lambda refuses an oversized request before any execution environment sees it.
      const requestBytes = Buffer.byteLength(JSON.stringify(event ?? null));
      if (requestBytes > MAX_REQUEST_BYTES) {
        return failure(REQUEST_TOO_LARGE, `Request must be smaller than ${MAX_REQUEST_BYTES} bytes for the InvokeFunction operation`, 0);
      }
      const pool = pools.get(spec)!;
      return pool.invoke(event, injectedFault(opts.faults, spec, pool));
    },
    metrics: () => metricsSeen.snapshot(),
    async stop() {
      stopped = true;
      await Promise.all([...pools.values()].map((pool) => pool.stop()));
    },
  };
}

interface InjectedFault {
  kind: 'crash' | 'timeout';
  /** How long after the handler starts the environment dies. */
  afterMs: number;
}

function injectedFault(faults: FaultController | undefined, spec: FunctionSpec, pool: FunctionPool): InjectedFault | undefined {
  if (!faults) return undefined;
  const kind = faults.lambdaFault(`${spec.functionName} ${spec.logicalId}`);
  if (!kind) return undefined;
  // Somewhere within a typical run of the function, so a crash can land before, between or after
  // its side effects; drawn from the controller's seeded sequence so a seed repeats it.
  const window = Math.max(MIN_CRASH_WINDOW_MS, pool.typicalDurationMs());
  return { kind, afterMs: Math.floor(randomOf(faults)() * window) };
}

// The delay is drawn from the controller's seeded sequence (it restarts when a fault set is
// applied), so a seeded run repeats its crash points too.
function randomOf(faults: FaultController): () => number {
  return () => faults.draw();
}

// `arn:...:function:name:$LATEST` and `name:$LATEST` name the same function locally.
function unqualified(name: string): string {
  const arnParts = name.split(':');
  if (name.startsWith('arn:') && arnParts.length === 8) return arnParts.slice(0, 7).join(':');
  if (!name.startsWith('arn:') && arnParts.length === 2) return arnParts[0]!;
  return name;
}

function failure(errorType: string, errorMessage: string, durationMs: number, timedOut?: boolean): InvokeResult {
  return timedOut ? { ok: false, errorType, errorMessage, durationMs, timedOut } : { ok: false, errorType, errorMessage, durationMs };
}

interface PendingInvocation {
  event: unknown;
  fault: InjectedFault | undefined;
  resolve: (result: InvokeResult) => void;
}

type WorkerReply =
  | { type: 'init'; ok: boolean; durationMs: number; errorType?: string; errorMessage?: string }
  | {
      type: 'result';
      id: string;
      ok: boolean;
      payload?: string;
      errorType?: string;
      errorMessage?: string;
      initError?: boolean;
    };

/** The execution environments of one function and the invocations waiting for one. */
class FunctionPool {
  private readonly idle: ExecutionEnvironment[] = [];
  private readonly all = new Set<ExecutionEnvironment>();
  private readonly waiting: PendingInvocation[] = [];
  private readonly recentDurations: number[] = [];
  private stopping = false;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly size: number,
    private readonly opts: LambdaRuntimeOptions,
    private readonly metricsSeen: MetricAccumulator,
  ) {}

  invoke(event: unknown, fault?: InjectedFault): Promise<InvokeResult> {
    return new Promise((resolve) => {
      this.waiting.push({ event, fault, resolve });
      this.dispatch();
    });
  }

  /** The median duration of the function's last successful invocations (0 before the first). */
  typicalDurationMs(): number {
    if (this.recentDurations.length === 0) return 0;
    const sorted = [...this.recentDurations].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }

  private dispatch(): void {
    while (this.waiting.length > 0 && !this.stopping) {
      let environment = this.idle.pop();
      if (!environment) {
        // Environments are created lazily, up to the pool size; past that, invocations queue.
        if (this.all.size >= this.size) return;
        environment = new ExecutionEnvironment(this.spec, this.opts, this.metricsSeen, (gone) => this.forget(gone));
        this.all.add(environment);
      }
      const pending = this.waiting.shift()!;
      const chosen = environment;
      void chosen.run(pending.event, pending.fault).then((result) => {
        if (result.ok) {
          this.recentDurations.push(result.durationMs);
          if (this.recentDurations.length > 20) this.recentDurations.shift();
        }
        pending.resolve(result);
        if (chosen.usable) this.idle.push(chosen);
        this.dispatch();
      });
    }
  }

  private forget(environment: ExecutionEnvironment): void {
    this.all.delete(environment);
    const index = this.idle.indexOf(environment);
    if (index >= 0) this.idle.splice(index, 1);
    // A crashed or killed environment is replaced by the next invocation that needs one.
    this.dispatch();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const pending of this.waiting.splice(0)) {
      pending.resolve(failure('Runtime.Stopped', 'The local Lambda runtime is stopped', 0));
    }
    await Promise.all([...this.all].map((environment) => environment.kill()));
  }
}

interface RunningInvocation {
  id: string;
  started: number;
  fault: InjectedFault | undefined;
  /** Settles the invocation once; later calls are ignored. */
  finish: (result: InvokeResult) => void;
}

/** One child process running lambda-worker.mjs. */
class ExecutionEnvironment {
  usable = true;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly initBudgetEndsAt = Date.now() + INIT_BUDGET_MS;
  /** Resolves when init is over (done or failed) or its budget is spent, whichever comes first. */
  private readonly initOver: Promise<void>;
  private endInit!: () => void;
  private current?: RunningInvocation;
  private readonly log: (line: string) => void;

  constructor(
    private readonly spec: FunctionSpec,
    opts: LambdaRuntimeOptions,
    metricsSeen: MetricAccumulator,
    private readonly onGone: (environment: ExecutionEnvironment) => void,
  ) {
    this.log = (line) => opts.log?.(`[${spec.logicalId}] ${line}`);
    this.initOver = new Promise((resolve) => {
      const budget = setTimeout(resolve, INIT_BUDGET_MS);
      budget.unref();
      this.endInit = () => {
        clearTimeout(budget);
        resolve();
      };
    });
    this.child = fork(WORKER_PATH, [], {
      cwd: spec.assetDir,
      env: environmentFor(spec, opts),
      // Explicit execArgv so the child does not inherit the parent's loaders (tsx, vitest).
      execArgv: [`--max-old-space-size=${spec.memoryMb}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const log = opts.log;
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        metricsSeen.add(line);
        log?.(`[${spec.logicalId}] ${line}`);
      });
    }
    this.child.on('message', (message: WorkerReply) => this.onReply(message));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.usable = false;
        this.endInit();
        const running = this.current;
        if (running?.fault) {
          // The worker killed itself at the injected fault's moment.
          this.endByFault(running);
        } else if (running) {
          this.current = undefined;
          const reason = signal ? `signal: ${signalText(signal)}` : `exit status ${code}`;
          running.finish(
            failure('Runtime.ExitError', `RequestId: ${running.id} Error: Runtime exited with error: ${reason}`, Date.now() - running.started),
          );
        }
        this.onGone(this);
        resolve();
      });
    });
    // A spawn failure also emits 'exit'; the error itself must not crash the parent.
    this.child.on('error', (error) => this.log(`runtime error: ${error.message}`));
  }

  run(event: unknown, fault?: InjectedFault): Promise<InvokeResult> {
    const id = randomUUID();
    const started = Date.now();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    return new Promise((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      let settled = false;
      const running: RunningInvocation = {
        id,
        started,
        fault,
        finish: (result) => {
          if (settled) return;
          settled = true;
          for (const timer of timers) clearTimeout(timer);
          resolve(result);
        },
      };
      this.current = running;
      if (fault) this.log(`${id} injected fault: ${fault.kind} ${fault.afterMs} ms into the invocation`);

      // The timeout clock starts when the handler is invoked: after init, or at the end of the
      // init budget if init is still running then.
      void this.initOver.then(() => {
        if (settled || this.current !== running) return;
        timers.push(setTimeout(() => this.timedOut(running), timeoutMs));
      });

      this.child.send(
        // An injected crash or timeout ends the invocation part-way through the handler: the worker
        // kills its own process at that moment. A timeout fault ends early, not at the configured
        // timeout, so tests stay fast.
        {
          type: 'invoke',
          id,
          requestId: id,
          event,
          timeoutMs,
          initBudgetEndsAt: this.initBudgetEndsAt,
          ...(fault ? { faultAfterMs: Math.min(fault.afterMs, timeoutMs) } : {}),
        },
        (error) => {
          if (error && this.current === running) {
            this.current = undefined;
            this.usable = false;
            running.finish(failure('Runtime.ExitError', `Could not reach the runtime: ${error.message}`, Date.now() - started));
            void this.kill();
          }
        },
      );
    });
  }

  private timedOut(running: RunningInvocation): void {
    if (this.current !== running) return;
    this.current = undefined;
    this.usable = false;
    const seconds = this.spec.timeoutSeconds.toFixed(2);
    this.log(`${running.id} Task timed out after ${seconds} seconds`);
    running.finish(failure('Sandbox.Timedout', `Task timed out after ${seconds} seconds`, Date.now() - running.started, true));
    void this.kill();
  }

  /** The injected fault's moment: the environment dies (SIGKILL) with whatever the handler had done so far. */
  private endByFault(running: RunningInvocation): void {
    if (this.current !== running || !running.fault) return;
    if (running.fault.kind === 'timeout') {
      this.timedOut(running);
      return;
    }
    this.current = undefined;
    this.usable = false;
    this.log(`${running.id} Error: Runtime exited with error: signal: killed (injected crash)`);
    running.finish(
      failure('Runtime.ExitError', `RequestId: ${running.id} Error: Runtime exited with error: signal: killed`, Date.now() - running.started),
    );
    void this.kill();
  }

  private onReply(reply: WorkerReply): void {
    if (reply?.type === 'init') {
      if (!reply.ok) {
        this.log(`INIT_REPORT Init Duration: ${reply.durationMs} ms Phase: init Status: error Error Type: ${reply.errorType}`);
      }
      this.endInit();
      return;
    }
    const running = this.current;
    if (!running || reply?.type !== 'result' || reply.id !== running.id) return;
    if (running.fault && !reply.initError) {
      // The handler finished before the injected fault's moment: the crash came too late. On
      // Lambda the window between a handler's last act (its metrics flush) and the runtime
      // taking the result is tiny; counting it as a crash would recount every flushed metric on
      // the retry, which the pipeline cannot prevent and Lambda practically never does.
      this.log(`${running.id} injected ${running.fault.kind} came after the handler returned: no effect`);
    }
    this.current = undefined;
    const durationMs = Date.now() - running.started;
    if (reply.ok) {
      const payload = reply.payload ?? 'null';
      if (Buffer.byteLength(payload) > MAX_RESPONSE_BYTES) {
        const errorMessage = `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`;
        this.log(`${running.id} ERROR Invoke Error ${JSON.stringify({ errorType: 'Function.ResponseSizeTooLarge', errorMessage })}`);
        running.finish(failure('Function.ResponseSizeTooLarge', errorMessage, durationMs));
        return;
      }
      running.finish({ ok: true, payload: JSON.parse(payload), durationMs });
      return;
    }
    const errorType = reply.errorType ?? 'Error';
    const errorMessage = reply.errorMessage ?? '';
    this.log(`${running.id} ERROR Invoke Error ${JSON.stringify({ errorType, errorMessage })}`);
    if (reply.initError) {
      // As in Lambda, a failed init is retried in a fresh environment on the next invocation.
      this.usable = false;
      void this.kill();
    }
    running.finish(failure(errorType, errorMessage, durationMs));
  }

  async kill(): Promise<void> {
    this.usable = false;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

// How the Lambda service names the signal that ended a runtime (Go's os.ProcessState wording).
function signalText(signal: NodeJS.Signals): string {
  const names: Partial<Record<NodeJS.Signals, string>> = {
    SIGKILL: 'killed',
    SIGTERM: 'terminated',
    SIGSEGV: 'segmentation fault',
    SIGABRT: 'aborted',
    SIGINT: 'interrupt',
  };
  return names[signal] ?? signal;
}

function environmentFor(spec: FunctionSpec, opts: LambdaRuntimeOptions): NodeJS.ProcessEnv {
  return {
    // PATH and HOME only: the function sees its template environment, not the developer's shell.
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TZ: 'UTC',
    // No X-Ray daemon runs locally: the tracer must not fail the function over a missing segment.
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    // The bundle runs on this machine's Node, which may be older than the Lambda runtime it
    // targets; the SDK's notice about that would repeat in every execution environment.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...spec.environment,
    AWS_ENDPOINT_URL: opts.endpoint,
    AWS_REGION: opts.region,
    AWS_DEFAULT_REGION: opts.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
    LAMBDA_TASK_ROOT: spec.assetDir,
    _HANDLER: spec.handler,
    LOCAL_LAMBDA_FUNCTION_ARN: spec.arn,
  };
}
