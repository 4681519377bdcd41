import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../lib/config';
import { PipelineStack } from '../lib/pipeline-stack';

const app = new App();
const config = loadConfig(app.node);
new PipelineStack(app, `EcommercePipeline-${config.stage}`, { config });
// cdk-nag v3 runs as a policy validation plugin: an unacknowledged finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
