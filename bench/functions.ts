import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readStackAssembly, LOCAL_STACK_NAME } from '../tools/local-cloud/template';
import { functionNameOf } from './e2e';
import { median } from './stats';

/**
 * Per function, from the synthesized assets: the size of `index.mjs` and the median time to
 * import it (handler module init) in fresh `node` processes with dummy environment variables.
 */

export interface FunctionFigures {
  bundle_bytes: number;
  init_ms_median: number;
  peak_rss_mb: number;
}

/** The template's variables; anything that is not a literal (a Ref, a Join) gets a dummy value. */
function dummyEnvironment(variables: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(variables)) {
    if (typeof value === 'string') env[key] = value;
    else if (key.endsWith('_URL')) env[key] = 'http://127.0.0.1:9/dummy';
    else env[key] = `dummy-${key.toLowerCase()}`;
  }
  return env;
}

/** Milliseconds the child spends in `await import(bundle)`, measured inside it. */
function importOnce(bundle: string, env: Record<string, string>): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(bundle).href)}); process.stdout.write(String(performance.now() - t)); process.exit(0);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.dirname(bundle),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TZ: 'UTC',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_LAMBDA_FUNCTION_NAME: 'bench',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(out.trim());
      if (code === 0 && Number.isFinite(ms)) resolve(ms);
      else reject(new Error(`importing ${bundle} failed (exit ${code}): ${err.trim().slice(0, 500)}`));
    });
  });
}

export async function benchFunctions(options: {
  quick: boolean;
  cdkOut: string;
  peakRssMb: Record<string, number>;
  progress: (line: string) => void;
}): Promise<Record<string, FunctionFigures>> {
  const assembly = readStackAssembly(options.cdkOut, LOCAL_STACK_NAME);
  const runs = options.quick ? 3 : 11;
  const figures: Record<string, FunctionFigures> = {};
  for (const [logicalId, resource] of Object.entries(assembly.template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const name = functionNameOf(logicalId);
    const dir = assembly.assetDirs[logicalId];
    if (!dir) continue;
    const bundle = path.join(dir, 'index.mjs');
    const variables = ((resource.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables ?? {});
    const env = dummyEnvironment(variables);
    const times: number[] = [];
    for (let i = 0; i < runs; i += 1) times.push(await importOnce(bundle, env));
    figures[name] = { bundle_bytes: statSync(bundle).size, init_ms_median: median(times), peak_rss_mb: options.peakRssMb[name] ?? Number.NaN };
    options.progress(`functions: ${name} ${figures[name].bundle_bytes} bytes, init median ${figures[name].init_ms_median.toFixed(0)} ms over ${runs} processes`);
  }
  return figures;
}
