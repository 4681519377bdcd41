import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig, type PipelineConfig } from '../lib/config';
import { PipelineStack } from '../lib/pipeline-stack';
import { stackNameOf } from '../lib/stack-name';

const app = new App();

let config: PipelineConfig;
try {
  config = loadConfig(app.node);
} catch (error) {
  // The problem list is the whole story; a stack trace would only bury it.
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

new PipelineStack(app, stackNameOf(config.stage), { config });
// cdk-nag v3 runs as a policy validation plugin: an unacknowledged finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
