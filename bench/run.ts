import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchCloud } from './e2e';
import { benchFunctions } from './functions';
import { benchLoader } from './loader';
import { renderReport, type BenchResults } from './report';
import { benchValidator } from './validator';

/**
 * `npm run bench`: the validator's core, the loader's CPU and requests per event, the pipeline
 * end to end on the local cloud, and per-function bundle size, init time and peak RSS, in one run
 * on this machine. Prints a table with each goal's PASS/MISS and writes bench/results.json
 * (`--quick`: a small run, written to bench/results-quick.json). Exits 0 whatever the numbers;
 * non-zero only when the bench itself fails.
 */

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const quick = process.argv.includes('--quick');
const projectDir = path.resolve(import.meta.dirname, '..');
const out = path.join(projectDir, 'bench', quick ? 'results-quick.json' : 'results.json');
const begun = Date.now();
const progress = (line: string) => process.stderr.write(`[bench ${((Date.now() - begun) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

progress(`${quick ? 'quick' : 'full'} run; results go to ${path.relative(projectDir, out)}`);
progress('validator: validateBatch vs floor vs Powertools alternative');
const validator = await benchValidator({ quick, progress });
progress('loader: loadRecords + DynamoDbEventStore against a forked local endpoint');
const loader = await benchLoader({ quick, progress });
progress('e2e: the local cloud');
const cloud = await benchCloud({ quick, projectDir, progress });
progress('functions: bundle sizes and init times');
const functions = await benchFunctions({ quick, cdkOut: cloud.cdkOut, peakRssMb: cloud.peakRssMb, progress });
rmSync(path.dirname(cloud.cdkOut), { recursive: true, force: true });

const cpus = os.cpus();
const results: BenchResults = {
  validator,
  loader,
  e2e: cloud.e2e,
  functions,
  machine: {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory_gb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  },
  quick,
};
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${renderReport(results)}\n`);
process.stdout.write(`\nresults: ${path.relative(projectDir, out)}; peak RSS is the VmHWM of the local cloud's execution environments (lambda-worker.mjs + the bundle) over the e2e run; init is the time of \`await import(index.mjs)\` in a fresh node with dummy env\n`);
progress(`done in ${((Date.now() - begun) / 1000).toFixed(0)} s`);
process.exit(0);
