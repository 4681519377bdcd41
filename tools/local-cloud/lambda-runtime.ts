/**
 * The local Lambda service: every function of the template runs in its own child processes
 * (lambda-worker.mjs), one invocation at a time per process, with a small pool per function
 * for concurrency. The template's timeout is enforced by killing the process, as Lambda does;
 * its clock starts when the handler is invoked, after the init phase (module import), which has a
 * budget of its own. Synchronous payload limits (6 MB request and response) apply, and a
 * FaultController can crash an invocation or time it out.
 */
import { MetricAccumulator } from './emf';
import type { FaultController } from './fault-set';
import { ExecutionEnvironment, failure, type InjectedFault } from './lambda-environment';
import type { FunctionSpec, InvokeResult, Invoker, LocalResource, MetricTotals } from './types';

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

const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;

/**
 * Synchronous invocation payload, request and response: 6 MB each
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The service counts
 * 6 MiB for a request (the response limit, 6 MiB + 100 bytes, is in lambda-environment.ts), and
 * answers an oversized request with this error.
 */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
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


interface PendingInvocation {
  event: unknown;
  fault: InjectedFault | undefined;
  resolve: (result: InvokeResult) => void;
}


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

