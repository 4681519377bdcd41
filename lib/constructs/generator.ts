import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/shared/env-names';
import type { PipelineConfig } from '../config';
import { PipelineConcern } from './pipeline-concern';
import { PipelineFunction } from './pipeline-function';
import { permissions as generatorPermissions } from '../../lambdas/generator/permissions';

export interface GeneratorProps {
  readonly config: PipelineConfig;
  /** The ingest API stage URL. */
  readonly ingestUrl: string;
  readonly apiKeySecret: ISecret;
}

/** On a schedule, posts synthetic events (a configured share of them invalid) to the ingest API. */
export class Generator extends PipelineConcern {
  readonly function: PipelineFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, { config, ingestUrl, apiKeySecret }: GeneratorProps) {
    super(scope, id);
    this.function = new PipelineFunction(this, 'Generator', {
      config,
      source: 'generator',
      description: 'Schedule -> synthetic events -> ingest API',
      timeout: Duration.seconds(60),
      // Measured peak RSS (README "Function size"): 77 MB for a 50-event run. 256 MB leaves room for
      // runs of up to 500 events and the CPU to send them well within the timeout; once a minute, the
      // saving from less would be negligible.
      memorySize: 256,
      environment: {
        [ENV.generator.INGEST_URL]: ingestUrl,
        [ENV.generator.GENERATOR_EVENTS_PER_RUN]: String(config.generatorEventsPerRun),
        [ENV.generator.GENERATOR_INVALID_SHARE]: String(config.generatorInvalidShare),
      },
    }).bindSecret(apiKeySecret, ENV.generator.API_KEY_SECRET_ARN, generatorPermissions.secretsmanager.ApiKeySecret);

    this.schedule = new Rule(this, 'GeneratorSchedule', {
      description: 'Runs the synthetic event generator',
      schedule: Schedule.expression(config.generatorRate),
      enabled: config.generatorEnabled,
      // A missed run is not worth retrying: the next one comes on schedule.
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}
