import { createHash } from 'node:crypto';
import { CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { AuroraPostgresEngineVersion, ClusterInstance, Credentials, DatabaseCluster, DatabaseClusterEngine } from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../config';
import { ENV } from '../../lambdas/shared/env-names';
import { MIGRATIONS } from '../../lambdas/sql-migrations/migrations';
import { permissions as migrationsPermissions } from '../../lambdas/sql-migrations/permissions';
import { permissions as sinkPermissions } from '../../lambdas/sql-sink/permissions';
import { PipelineConcern } from './pipeline-concern';
import { PipelineFunction } from './pipeline-function';
import { sinkMappingOptions } from './loader';

/** The database the cluster creates and the sink writes (`AuroraDatabaseName`). */
export const AURORA_DATABASE_NAME = 'ecommerce';
/** Aurora Serverless v2 capacity: 0 ACUs (paused) when idle, at most this many under load. */
export const AURORA_MIN_ACU = 0;
export const AURORA_MAX_ACU = 2;
/** Idle time before the writer pauses (Aurora's minimum is 5 minutes). */
export const AURORA_AUTO_PAUSE = Duration.minutes(5);
/** Aurora PostgreSQL 17 supports scaling to 0 ACUs (auto-pause) and the Data API. */
export const AURORA_ENGINE_VERSION = AuroraPostgresEngineVersion.VER_17_7;

export interface SqlSinkProps {
  readonly config: PipelineConfig;
  readonly processedStream: IStream;
  readonly deadLetterQueue: IQueue;
  readonly streamFailureQueue: IQueue;
}

/**
 * The opt-in SQL sink (context `auroraSink`): an Aurora Serverless v2 PostgreSQL cluster with the
 * RDS Data API, in private isolated subnets of its own VPC (no NAT, nothing else in it: the Data
 * API reaches the cluster from AWS's side, so the functions stay outside any VPC), its schema
 * applied by the SqlSchema custom resource (versioned migrations, lambdas/sql-migrations), and the
 * SqlSink function consuming the processed stream with its own event source mapping, so a
 * database outage holds back only this sink, never DynamoDB.
 */
export class SqlSink extends PipelineConcern {
  readonly cluster: DatabaseCluster;
  readonly secret: ISecret;
  readonly databaseName = AURORA_DATABASE_NAME;
  readonly function: PipelineFunction;

  constructor(scope: Construct, id: string, { config, processedStream, deadLetterQueue, streamFailureQueue }: SqlSinkProps) {
    super(scope, id);
    const retained = config.removalPolicy === RemovalPolicy.RETAIN;

    const vpc = new Vpc(this, 'AuroraVpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Database', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      // Nothing runs in this VPC but the cluster, whose own security group admits nothing; the
      // default group's rules would need a custom resource function to remove, for no gain.
      restrictDefaultSecurityGroup: false,
    });
    Validations.of(vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason:
        'No traffic flows in this VPC: it holds only the Aurora cluster, reached through the RDS Data API from AWS\'s side; no NAT, no endpoints, no functions, and the cluster\'s security group has no ingress rule. Flow logs would record nothing.',
    });

    this.cluster = new DatabaseCluster(this, 'AuroraCluster', {
      engine: DatabaseClusterEngine.auroraPostgres({ version: AURORA_ENGINE_VERSION }),
      writer: ClusterInstance.serverlessV2('Writer', { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: AURORA_MIN_ACU,
      serverlessV2MaxCapacity: AURORA_MAX_ACU,
      serverlessV2AutoPauseDuration: AURORA_AUTO_PAUSE,
      enableDataApi: true,
      credentials: Credentials.fromGeneratedSecret('pipeline_admin'),
      defaultDatabaseName: AURORA_DATABASE_NAME,
      vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      storageEncrypted: true,
      backup: { retention: Duration.days(7) },
      copyTagsToSnapshot: true,
      // As the tables: a retained stage keeps its data (a final snapshot) and refuses deletion.
      deletionProtection: retained,
      removalPolicy: retained ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    });
    this.secret = this.cluster.secret!;
    Validations.of(this.cluster).acknowledge(
      {
        id: 'AwsSolutions-RDS6',
        reason: 'Clients use the RDS Data API, which authorizes callers with IAM (rds-data:* on this cluster) and logs in with the Secrets Manager secret; IAM database authentication does not apply to it.',
      },
      {
        id: 'AwsSolutions-RDS10',
        reason: 'Deletion protection follows the stage like the tables: on with removalPolicy retain (with a final snapshot), off for disposable stages.',
      },
      {
        id: 'AwsSolutions-RDS11',
        reason: 'Nothing connects to the database port: the cluster is reached only through the Data API, and its security group admits no traffic.',
      },
    );
    // On the cluster: its `secret` is the attachment, the secret itself is the cluster's child.
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotation needs a rotation function inside the VPC and a Secrets Manager interface endpoint (there is no NAT), about $15 a month for a sink that idles at zero; rotate with `aws secretsmanager rotate-secret` after adding them (README "SQL sink").',
    });

    // Each function gets the Data API calls its own permissions.ts lists, on this cluster and its secret.
    const target = (fn: PipelineFunction, granted: typeof sinkPermissions | typeof migrationsPermissions) =>
      fn
        .bindDataApi(this.cluster, ENV.sqlSink.AURORA_CLUSTER_ARN, granted['rds-data'].AuroraCluster)
        .bindSecret(this.secret, ENV.sqlSink.AURORA_SECRET_ARN, granted.secretsmanager.AuroraSecret)
        .addEnvironment(ENV.sqlSink.AURORA_DATABASE_NAME, AURORA_DATABASE_NAME);

    // The schema: versioned migrations applied by a custom resource on every deploy that changes them.
    const migrations = new PipelineFunction(this, 'SqlMigrations', {
      config,
      source: 'sql-migrations',
      description: 'SqlSchema custom resource: applies the SQL sink\'s migrations not yet applied',
      // Aurora at 0 ACUs takes up to a minute to resume; the handler retries for 4 minutes.
      timeout: Duration.minutes(5),
      memorySize: 256,
    });
    target(migrations, migrationsPermissions);
    const providerLogGroup = new LogGroup(this, 'SqlSchemaProviderLogGroup', { retention: config.logRetentionDays, removalPolicy: config.removalPolicy });
    const provider = new Provider(this, 'SqlSchemaProvider', { onEventHandler: migrations, logGroup: providerLogGroup });
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The CDK Provider framework\'s own function (it only invokes SqlMigrations during deploys) comes with the basic execution role.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(migrations.node.defaultChild as CfnFunction)}.Arn>:*]`,
        reason: 'The CDK Provider framework grants lambda:InvokeFunction on the SqlMigrations function and its versions (<arn>:*).',
      },
      { id: 'AwsSolutions-L1', reason: 'The CDK Provider framework pins its own function runtime.' },
    );
    const migrationsText = MIGRATIONS.map((m) => `${m.version}:${m.name}:${m.sql}`).join('\n');
    const schema = new CustomResource(this, 'SqlSchema', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SqlSchema',
      properties: {
        ClusterArn: this.cluster.clusterArn,
        SecretArn: this.secret.secretArn,
        DatabaseName: AURORA_DATABASE_NAME,
        SchemaVersion: MIGRATIONS.at(-1)!.version,
        // A changed migration set changes the resource, so the next deploy applies it.
        MigrationsSha256: createHash('sha256').update(migrationsText).digest('hex'),
      },
    });
    // The writer instance must be up before the migrations can run.
    schema.node.addDependency(this.cluster);

    this.function = new PipelineFunction(this, 'SqlSink', {
      config,
      source: 'sql-sink',
      description: 'Processed stream -> Aurora PostgreSQL (ecommerce_events, data_quality_metrics)',
      timeout: Duration.seconds(60),
      memorySize: 256,
    });
    target(this.function, sinkPermissions).bindQueue(deadLetterQueue, ENV.sqlSink.DEAD_LETTER_QUEUE_URL, sinkPermissions.sqs.DeadLetterQueue);
    // The same mapping settings as the Loader's: partial batch responses, bisect, retries, on-failure queue.
    this.function.consumeStream(processedStream, sinkMappingOptions(config, streamFailureQueue));
    // No events before the tables exist.
    this.function.node.addDependency(schema);
  }
}
