import { Command } from 'commander';
import { DEFAULT_OUTPUTS_FILE } from './outputs';
import { registerAggregates } from './commands/aggregates';
import { registerCost } from './commands/cost';
import { registerDlq } from './commands/dlq';
import { registerRedrive } from './commands/redrive';
import { registerRebuild } from './commands/rebuild';
import { registerReplay } from './commands/replay';
import { registerSend } from './commands/send';
import { registerSql } from './commands/sql';
import { registerStatus } from './commands/status';

export { quietOnClosedOutput } from './commands/kit';

/** The `pipeline` program: global options here, each command (with its printer) in commands/<name>.ts. */
export function buildProgram(): Command {
  const program = new Command('pipeline')
    .description(
      'Operate the e-commerce event pipeline: the local cloud, LocalStack or a deployed stack, from its outputs file.',
    )
    .option('--outputs <file>', 'stack outputs file (.local/outputs.json, or cdk-outputs.json from cdk deploy --outputs-file)', DEFAULT_OUTPUTS_FILE)
    .option('--stack <name>', 'stack in the outputs file when it holds several')
    .option('--region <region>', 'AWS region (default: AWS_REGION or the profile)')
    .option('--profile <profile>', 'AWS profile (default: AWS_PROFILE or the default chain)')
    .option('--endpoint <url>', 'endpoint for every AWS client (LocalStack; AWS_ENDPOINT_URL works too)')
    .option('--no-progress', 'no progress output on stderr')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true });


  for (const register of [registerSend, registerDlq, registerRedrive, registerReplay, registerRebuild, registerAggregates, registerStatus, registerCost, registerSql]) {
    register(program);
  }
  return program;
}
