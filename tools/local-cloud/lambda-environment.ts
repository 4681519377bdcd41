/** One execution environment of a local function: a child process running lambda-worker.mjs, its init budget, timeout, payload limit and injected faults. */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MetricAccumulator } from './emf';
import type { FunctionSpec, InvokeResult } from './types';

const WORKER_PATH = fileURLToPath(new URL('./lambda-worker.mjs', import.meta.url));

/**
 * The init phase (extensions, runtime bootstrap, the function's static code) has 10 s of its own,
 * not counted against the function's timeout; an init that takes longer goes on within the first
 * invocation, on its timeout. https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
 * (Lambda retries such an init inside the invocation; locally the same init just keeps going, on
 * the invocation's clock.)
 */
export const INIT_BUDGET_MS = 10_000;

/**
 * Synchronous invocation response payload: 6 MB (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html);
 * the service counts 6 MiB + 100 bytes for a response (the request limit is in lambda-runtime.ts).
 */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100;

/** What an execution environment needs from the runtime's options. */
export interface EnvironmentOptions {
  endpoint: string;
  region: string;
  log?: (line: string) => void;
}

export interface InjectedFault {
  kind: 'crash' | 'timeout';
  /** How long after the handler starts the environment dies. */
  afterMs: number;
}

export function failure(errorType: string, errorMessage: string, durationMs: number, timedOut?: boolean): InvokeResult {
  return timedOut ? { ok: false, errorType, errorMessage, durationMs, timedOut } : { ok: false, errorType, errorMessage, durationMs };
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

interface RunningInvocation {
  id: string;
  started: number;
  fault: InjectedFault | undefined;
  /** Settles the invocation once; later calls are ignored. */
  finish: (result: InvokeResult) => void;
}


export /** One child process running lambda-worker.mjs. */
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
    opts: EnvironmentOptions,
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

function environmentFor(spec: FunctionSpec, opts: EnvironmentOptions): NodeJS.ProcessEnv {
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
