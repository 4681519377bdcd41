import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { CliError } from '../../tools/cli/errors';
import { openTarget } from '../../tools/cli/outputs';
import { DEPLOYED_ENV } from './target';

/**
 * `npm run test:deployed -- --outputs cdk-outputs.json [--stack <name>] [--endpoint <url>] [vitest options]`: the
 * end-to-end scenarios of test/deployed against the stack an outputs file describes (AWS,
 * LocalStack, or the local cloud's .local/outputs.json). Exits 2 at once, with the reason, when
 * the file is missing, lacks the contract outputs, or the API key cannot be found; else with
 * vitest's exit code.
 */

const USAGE = 'usage: npm run test:deployed -- --outputs <outputs file> [--stack <stack name>] [--endpoint <url> (LocalStack)] [vitest options]';
const PROJECT = resolve(import.meta.dirname, '../..');

interface Arguments {
  outputs: string;
  stack?: string;
  endpoint?: string;
  rest: string[];
}

function parse(argv: readonly string[]): Arguments {
  let outputs = 'cdk-outputs.json';
  let stack: string | undefined;
  let endpoint: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--outputs' || name === '--stack' || name === '--endpoint') {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '' || value.startsWith('--')) throw new CliError(`${name} needs a value`, 2);
      if (name === '--outputs') outputs = value;
      else if (name === '--stack') stack = value;
      else endpoint = value;
    } else if (name === '--help' || name === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      rest.push(arg);
    }
  }
  return { outputs, ...(stack ? { stack } : {}), ...(endpoint ? { endpoint } : {}), rest };
}

async function main(): Promise<number> {
  const { outputs, stack, endpoint, rest } = parse(process.argv.slice(2));
  const file = resolve(outputs);
  const target = await openTarget({ outputs: file, ...(stack ? { stack } : {}), ...(endpoint ? { endpoint } : {}) });
  await target.apiKey();
  console.log(`test:deployed: stack ${target.outputs.stackName} from ${file} (${target.endpointLabel})`);
  const child = spawn(process.execPath, [resolve(PROJECT, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'deployed', ...rest], {
    cwd: PROJECT,
    stdio: 'inherit',
    env: {
      ...process.env,
      [DEPLOYED_ENV.outputs]: file,
      [DEPLOYED_ENV.stack]: target.outputs.stackName,
      ...(endpoint ? { [DEPLOYED_ENV.endpoint]: endpoint } : {}),
    },
  });
  return new Promise((done) => child.on('exit', (code) => done(code ?? 1)));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof CliError) {
      console.error(`test:deployed: ${error.message}`);
      console.error(USAGE);
      process.exit(2);
    }
    console.error(error);
    process.exit(2);
  },
);
