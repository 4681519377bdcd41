import { rmSync } from 'node:fs';
import path from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createApiGateway } from './api-gateway/server';
import { createDashboardReader } from './dashboard/data';
import { RateRing, startSampling } from './dashboard/rates';
import { createDashboardServer, DASHBOARD_PATH } from './dashboard/server';
import { startAwsEndpoint, type AwsEndpoint } from './endpoint';
import { FaultController, type FaultSet } from './fault-set';
import { startEventSourceMappings } from './event-source-mappings';
import { deliveryStreamSpecFrom, startDeliveryStream, type DeliveryStream } from './firehose';
import { withFaults, type FaultRule } from './faults';
import { resolveTemplate } from './intrinsics/resolver';
import { createLambdaRuntime, type LambdaRuntime } from './lambda-runtime';
import { apiKeyValueOf, buildOutputs, DEFAULT_OUTPUTS_PATH, writeOutputs } from './outputs';
import { RefusedPropertiesError } from './property-review';
import { describeGroups, groupResources, type ResourceGroups } from './resource-types';
import { createResources, destroyClients, localClients, type LocalClients } from './resources';
import { provisionSqlDatabases } from './sql-schema';
import { startSchedules } from './schedules';
import { attachAssetDirs, LOCAL_STACK_NAME, LOCAL_STAGE, readStackAssembly, synthesize } from './template';
import type { LocalResource, MetricTotals } from './types';

/**
 * The embedded local cloud: synthesize the app, read the template and its bundles, start one
 * endpoint with the emulators, create what the template declares, run its functions, event
 * source mappings, API and schedules, and write the outputs file once all of it is ready.
 */

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';
export const DEFAULT_PORT = 4566;

export interface LocalCloudOptions {
  /** Endpoint port; 0 picks a free one (tests). Default 4566. */
  port?: number;
  /** The CDK project (cdk.json); default the current directory. */
  projectDir?: string;
  /** Cloud assembly folder; default `<projectDir>/.local/cdk.out`. */
  cdkOut?: string;
  /** Use the assembly already in cdkOut instead of synthesizing. */
  skipSynth?: boolean;
  /** CDK context for the synth besides the local stage (`npm start -- -c auroraSink=true`). */
  context?: Record<string, string>;
  /** Run the generator's schedule (default true). */
  generator?: boolean;
  /** Replaces the schedule's expression locally, e.g. `rate(10 seconds)`. */
  generatorRate?: string;
  /** Where to write the outputs; false writes none. Default `<projectDir>/.local/outputs.json`. */
  outputsFile?: string | false;
  /** Simulated function crashes when a payload carries a marker (see faults.ts). */
  faults?: FaultRule[];
  /** The fault set to start with (contract §5); `{AwsEndpoint}/_local/faults` changes it while running. */
  faultSet?: FaultSet;
  /**
   * Replaces the Firehose delivery streams' BufferingHints.IntervalInSeconds locally (seconds), so
   * the archive is written within seconds instead of minutes (tests, `npm start -- --archive-interval 5`).
   */
  archiveBufferSeconds?: number;
  /** Execution environments per function. */
  poolSize?: number;
  /** Start-up and service messages. */
  log?: (line: string) => void;
  /** Everything the functions and pollers print. */
  functionLog?: (line: string) => void;
}

export interface QueueDepth {
  url: string;
  visible: number;
  inFlight: number;
}

export interface LocalCloudMetrics {
  /** Counters from the functions' EMF lines since start (EventsAccepted, EventsStored, ...). */
  totals: MetricTotals;
  /** Depth of every queue of the template, by logical id. */
  queues: Record<string, QueueDepth>;
  /** Messages (visible and in flight) in the DeadLetterQueue output's queue. */
  deadLetterQueueDepth: number;
}

export interface LocalCloud {
  stackName: string;
  /** What AWS_ENDPOINT_URL / --endpoint-url take. */
  endpoint: string;
  /** This stack's outputs, as written to the outputs file (AwsEndpoint and ApiKeyValue included). */
  outputs: Record<string, string>;
  apiKeyValue: string;
  outputsFile: string | undefined;
  resources: LocalResource[];
  groups: ResourceGroups;
  functionNames: string[];
  schedules: Array<{ logicalId: string; expression: string; enabled: boolean }>;
  /** The active fault set, shared by the endpoint and the Lambda runtime (also at `/_local/faults`). */
  faults: FaultController;
  /** The template's Firehose delivery streams, running (the raw archive). */
  deliveryStreams: DeliveryStream[];
  metrics(): Promise<LocalCloudMetrics>;
  /** The functions' metric totals alone, without asking SQS for queue depths (for frequent polls). */
  totals(): MetricTotals;
  stop(): Promise<void>;
}

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const log = options.log ?? (() => {});
  const projectDir = path.resolve(options.projectDir ?? process.cwd());
  const cdkOut = path.resolve(projectDir, options.cdkOut ?? '.local/cdk.out');
  const outputsFile = options.outputsFile === false ? undefined : path.resolve(projectDir, options.outputsFile ?? DEFAULT_OUTPUTS_PATH);
  const stackName = LOCAL_STACK_NAME;

  // Whoever reads the outputs file must never get a previous run's endpoint while this one starts.
  if (outputsFile) rmSync(outputsFile, { force: true });

  if (options.context?.stage !== undefined) throw new Error('-c stage is not allowed: the local cloud always runs stage local');
  if (!options.skipSynth) await synthesize({ projectDir, outDir: cdkOut, stage: LOCAL_STAGE, ...(options.context ? { context: options.context } : {}), log });
  const assembly = readStackAssembly(cdkOut, stackName);

  const stoppers: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) {
      try {
        await stop();
      } catch (error) {
        log(`while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    stoppers.length = 0;
  };

  try {
    const faults = new FaultController(options.faultSet ?? {});
    const endpoint: AwsEndpoint = await startAwsEndpoint({ port: options.port ?? DEFAULT_PORT, region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID, faults });
    stoppers.push(() => endpoint.close());

    const resolved = resolveTemplate(assembly.template, { stackName, region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID, endpoint: endpoint.url });
    const resources = attachAssetDirs(resolved.resources, assembly);
    const groups = groupResources(resources);
    for (const line of describeGroups(groups)) log(line);
    // Before anything is created: a property that would run differently must not start at all.
    if (groups.properties.refused.length > 0) throw new RefusedPropertiesError(groups.properties.refused);

    const clients: LocalClients = localClients(endpoint.url, LOCAL_REGION);
    stoppers.push(() => destroyClients(clients));
    await createResources({ resources, clients, secrets: endpoint.secrets });
    // Aurora clusters (context auroraSink): a PGlite database each, migrated before any function runs.
    await provisionSqlDatabases({ resources, rdsData: endpoint.rdsData, endpoint: endpoint.url, region: LOCAL_REGION, log });

    const runtime: LambdaRuntime = createLambdaRuntime({
      resources,
      endpoint: endpoint.url,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
      faults,
      ...(options.poolSize !== undefined ? { poolSize: options.poolSize } : {}),
      ...(options.functionLog ? { log: options.functionLog } : {}),
    });
    stoppers.push(() => runtime.stop());
    const invoker = withFaults(runtime, options.faults ?? []);

    const api = createApiGateway({
      resources,
      invoker,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
      ...(options.functionLog ? { log: options.functionLog } : {}),
    });
    endpoint.setApiHandler((req, res) => api.handle(req, res));
    stoppers.push(() => endpoint.setApiHandler(undefined));

    const mappings = startEventSourceMappings({
      resources,
      invoker,
      endpoint: endpoint.url,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
      ...(options.functionLog ? { log: options.functionLog } : {}),
    });
    stoppers.push(() => mappings.stop());

    const deliveryStreams = resources
      .filter((resource) => resource.type === 'AWS::KinesisFirehose::DeliveryStream')
      .map((resource) =>
        startDeliveryStream({
          spec: deliveryStreamSpecFrom(resource),
          kinesis: clients.kinesis,
          s3: clients.s3,
          ...(options.archiveBufferSeconds !== undefined ? { bufferSecondsOverride: options.archiveBufferSeconds } : {}),
          ...(options.functionLog ? { log: options.functionLog } : {}),
        }),
      );
    // Stopped before the clients are destroyed: what is buffered is written on the way out.
    stoppers.push(() => Promise.all(deliveryStreams.map((stream) => stream.stop())).then(() => undefined));

    const schedules = startSchedules({
      resources,
      invoker,
      enabled: options.generator ?? true,
      ...(options.generatorRate ? { rateOverride: options.generatorRate } : {}),
      ...(options.functionLog ? { log: options.functionLog } : {}),
    });
    stoppers.push(() => schedules.stop());

    const queues = resources.filter((resource) => resource.type === 'AWS::SQS::Queue');
    const deadLetterQueueUrl = resolved.outputs.DeadLetterQueueUrl;
    const metrics = async (): Promise<LocalCloudMetrics> => {
      const depths = await Promise.all(
        queues.map(async (queue): Promise<[string, QueueDepth]> => {
          const answer = await clients.sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: queue.ref, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
          );
          const visible = Number(answer.Attributes?.ApproximateNumberOfMessages ?? 0);
          const inFlight = Number(answer.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
          return [queue.logicalId, { url: queue.ref, visible, inFlight }];
        }),
      );
      const byId = Object.fromEntries(depths);
      const dlq = depths.find(([, depth]) => depth.url === deadLetterQueueUrl)?.[1];
      return { totals: runtime.metrics(), queues: byId, deadLetterQueueDepth: dlq ? dlq.visible + dlq.inFlight : 0 };
    };
    endpoint.setMetricsProvider(metrics);

    // The live dashboard (`{AwsEndpoint}/_local/dashboard/`): counters sampled every second for its rates.
    const ring = new RateRing();
    const sampling = startSampling(ring, () => runtime.metrics());
    stoppers.push(() => sampling.stop());
    const dashboard = createDashboardServer(
      createDashboardReader({
        stackName,
        ring,
        totals: () => runtime.metrics(),
        sqs: clients.sqs,
        dynamodb: clients.dynamodb,
        deadLetterQueueUrl: resolved.outputs.DeadLetterQueueUrl!,
        aggregatesTableName: resolved.outputs.AggregatesTableName!,
        eventsTableName: resolved.outputs.EventsTableName!,
      }),
    );
    endpoint.setDashboardHandler((req, res) => dashboard.handle(req, res));
    stoppers.push(() => endpoint.setDashboardHandler(undefined));

    const apiKeyValue = apiKeyValueOf(resources, resolved.outputs.ApiKeyId);
    const outputs = buildOutputs({ stackName, templateOutputs: resolved.outputs, awsEndpoint: endpoint.url, apiKeyValue, dashboardUrl: `${endpoint.url}${DASHBOARD_PATH}` });
    endpoint.setReady(true);
    if (outputsFile) {
      writeOutputs(outputsFile, outputs);
      stoppers.push(() => rmSync(outputsFile, { force: true }));
    }

    let stopping: Promise<void> | undefined;
    return {
      stackName,
      endpoint: endpoint.url,
      outputs: outputs[stackName]!,
      apiKeyValue: apiKeyValue!,
      outputsFile,
      resources,
      groups,
      functionNames: runtime.functions.map((fn) => fn.functionName),
      schedules: schedules.rules,
      faults,
      deliveryStreams,
      metrics,
      totals: () => runtime.metrics(),
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
