// One Lambda execution environment: a child process of the local Lambda runtime.
// Plain JavaScript so it runs under bare `node` (no TypeScript loader) like the real runtime.
// It imports the bundle once (the init phase), tells the runtime when init is over, then serves
// invocations over IPC one at a time.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
const handlerSetting = process.env._HANDLER ?? 'index.handler';
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
const functionArn = process.env.LOCAL_LAMBDA_FUNCTION_ARN ?? functionName;

class HandlerError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

async function loadHandler() {
  const dot = handlerSetting.lastIndexOf('.');
  if (dot <= 0) throw new HandlerError('Runtime.MalformedHandlerName', `Bad handler ${handlerSetting}`);
  const modulePath = handlerSetting.slice(0, dot);
  const exportPath = handlerSetting.slice(dot + 1);
  const candidates = ['.mjs', '.js', '.cjs'].map((ext) => path.resolve(taskRoot, modulePath + ext));
  const file = candidates.find((candidate) => existsSync(candidate));
  if (!file) {
    throw new HandlerError('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}' in ${taskRoot}`);
  }
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (error) {
    // As the Node.js runtime reports a module that cannot be loaded: a syntax error is
    // Runtime.UserCodeSyntaxError, a missing dependency Runtime.ImportModuleError, and anything the
    // module's top level throws keeps its own name.
    if (error instanceof SyntaxError) throw new HandlerError('Runtime.UserCodeSyntaxError', `${error.name}: ${error.message}`);
    if (error?.code === 'ERR_MODULE_NOT_FOUND' || error?.code === 'MODULE_NOT_FOUND') {
      throw new HandlerError('Runtime.ImportModuleError', `Error: ${error.message}`);
    }
    throw error;
  }
  // A CommonJS bundle exposes module.exports as the default export.
  const fn = mod[exportPath] ?? mod.default?.[exportPath];
  if (typeof fn !== 'function') {
    throw new HandlerError('Runtime.HandlerNotFound', `${modulePath}.${exportPath} is undefined or not exported`);
  }
  return fn;
}

// The init phase: importing the module runs its top-level code. The runtime starts an
// invocation's timeout clock only once this is over (or once the init budget is spent).
const initStarted = Date.now();
const handlerPromise = loadHandler();
handlerPromise.then(
  () => send({ type: 'init', ok: true, durationMs: Date.now() - initStarted }),
  (error) => send({ type: 'init', ok: false, durationMs: Date.now() - initStarted, ...errorShape(error) }),
);

function contextFor(message, deadlineMs) {
  return {
    awsRequestId: message.requestId,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${functionName}`,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function run(handler, message, deadlineMs) {
  const context = contextFor(message, deadlineMs);
  let callbackSettle;
  const viaCallback = new Promise((resolve, reject) => {
    callbackSettle = (error, value) => (error ? reject(error) : resolve(value));
  });
  const returned = handler(message.event, context, callbackSettle);
  if (returned && typeof returned.then === 'function') return Promise.race([returned, viaCallback]);
  return viaCallback;
}

function errorShape(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name && error.name !== 'Error' ? error.name : error.constructor?.name ?? 'Error',
      errorMessage: error.message,
      stack: typeof error.stack === 'string' ? error.stack.split('\n') : [],
    };
  }
  return { errorType: typeof error, errorMessage: String(error), stack: [] };
}

let chain = Promise.resolve();

process.on('message', (message) => {
  if (!message || message.type !== 'invoke') return;
  const received = Date.now();
  // One invocation at a time, as a Lambda execution environment does.
  chain = chain.then(() => serve(message, received));
});

async function serve(message, received) {
  let handler;
  try {
    handler = await handlerPromise;
  } catch (error) {
    send({ type: 'result', id: message.id, ok: false, initError: true, ...errorShape(error) });
    return;
  }
  // The clock the runtime runs: from the invocation, or from the end of init when init was still
  // running, but never later than the end of the init budget (init beyond it counts, as on AWS).
  const clockStart = Math.max(received, Math.min(Date.now(), message.initBudgetEndsAt ?? 0));
  const deadlineMs = clockStart + message.timeoutMs;
  // An injected crash or timeout (contract §5): the environment dies this long into the handler.
  // The timer runs here, in the handler's own event loop, so it strikes between two of the
  // handler's steps: never between its metrics flush and its return (only microtasks run there).
  let returned = false;
  const fault =
    typeof message.faultAfterMs === 'number'
      ? setTimeout(() => {
          if (!returned) process.kill(process.pid, 'SIGKILL');
        }, Math.max(0, clockStart + message.faultAfterMs - Date.now()))
      : undefined;
  try {
    const value = await run(handler, message, deadlineMs);
    returned = true;
    clearTimeout(fault);
    // Lambda returns the JSON serialisation of the result; undefined becomes null.
    const payload = JSON.stringify(value === undefined ? null : value);
    send({ type: 'result', id: message.id, ok: true, payload });
  } catch (error) {
    returned = true;
    clearTimeout(fault);
    send({ type: 'result', id: message.id, ok: false, ...errorShape(error) });
  }
}

function send(message) {
  process.send?.(message);
}

process.on('disconnect', () => process.exit(0));
