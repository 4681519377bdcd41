import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MetricAccumulator } from './emf';
import type { FunctionSpec, InvokeResult, Invoker, LocalResource, MetricTotals } from './types';

/**
 * The local Lambda service: every function of the template runs in its own child processes
 * (lambda-worker.mjs), one invocation at a time per process, with a small pool per function
 * for concurrency. The template's timeout is enforced by killing the process, as Lambda does.
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
}

const WORKER_PATH = fileURLToPath(new URL('./lambda-worker.mjs', import.meta.url));
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;

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
      return pools.get(spec)!.invoke(event);
    },
    metrics: () => metricsSeen.snapshot(),
    async stop() {
      stopped = true;
      await Promise.all([...pools.values()].map((pool) => pool.stop()));
    },
  };
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
  resolve: (result: InvokeResult) => void;
}

interface WorkerReply {
  type: 'result';
  id: string;
  ok: boolean;
  payload?: string;
  errorType?: string;
  errorMessage?: string;
  initError?: boolean;
}

/** The execution environments of one function and the invocations waiting for one. */
class FunctionPool {
  private readonly idle: ExecutionEnvironment[] = [];
  private readonly all = new Set<ExecutionEnvironment>();
  private readonly waiting: PendingInvocation[] = [];
  private stopping = false;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly size: number,
    private readonly opts: LambdaRuntimeOptions,
    private readonly metricsSeen: MetricAccumulator,
  ) {}

  invoke(event: unknown): Promise<InvokeResult> {
    return new Promise((resolve) => {
      this.waiting.push({ event, resolve });
      this.dispatch();
    });
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
      void chosen.run(pending.event).then((result) => {
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

/** One child process running lambda-worker.mjs. */
class ExecutionEnvironment {
  usable = true;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private current?: { id: string; started: number; finish: (result: InvokeResult) => void };
  private readonly log: (line: string) => void;

  constructor(
    private readonly spec: FunctionSpec,
    opts: LambdaRuntimeOptions,
    metricsSeen: MetricAccumulator,
    private readonly onGone: (environment: ExecutionEnvironment) => void,
  ) {
    this.log = (line) => opts.log?.(`[${spec.logicalId}] ${line}`);
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
        const running = this.current;
        if (running) {
          this.current = undefined;
          running.finish(
            failure('Runtime.ExitError', `Runtime exited with error: ${signal ?? `exit status ${code}`}`, Date.now() - running.started),
          );
        }
        this.onGone(this);
        resolve();
      });
    });
    // A spawn failure also emits 'exit'; the error itself must not crash the parent.
    this.child.on('error', (error) => this.log(`runtime error: ${error.message}`));
  }

  run(event: unknown): Promise<InvokeResult> {
    const id = randomUUID();
    const started = Date.now();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.current?.id !== id) return;
        this.current = undefined;
        this.usable = false;
        const seconds = this.spec.timeoutSeconds.toFixed(2);
        this.log(`${id} Task timed out after ${seconds} seconds`);
        resolve(failure('Sandbox.Timedout', `Task timed out after ${seconds} seconds`, Date.now() - started, true));
        void this.kill();
      }, timeoutMs);
      this.current = {
        id,
        started,
        finish: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      };
      this.child.send({ type: 'invoke', id, requestId: id, event, deadlineMs: started + timeoutMs }, (error) => {
        if (error && this.current?.id === id) {
          this.current = undefined;
          this.usable = false;
          clearTimeout(timer);
          resolve(failure('Runtime.ExitError', `Could not reach the runtime: ${error.message}`, Date.now() - started));
          void this.kill();
        }
      });
    });
  }

  private onReply(reply: WorkerReply): void {
    const running = this.current;
    if (!running || reply?.type !== 'result' || reply.id !== running.id) return;
    this.current = undefined;
    const durationMs = Date.now() - running.started;
    if (reply.ok) {
      running.finish({ ok: true, payload: reply.payload === undefined ? null : JSON.parse(reply.payload), durationMs });
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
