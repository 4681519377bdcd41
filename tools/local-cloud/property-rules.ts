import { ON_DEMAND_LOCAL_SHARDS, QUEUE_ATTRIBUTES } from './resources';

// ---------------------------------------------------------------------------------------------
// Properties of the types the local cloud creates or runs: every one is honoured, said at
// start-up to have no local effect, warned about, or refused. None is dropped without a word.

/** Properties accepted without local effect, one start-up line per group. */
export const NOT_EMULATED_PROPERTY_GROUPS = {
  encryption: { title: 'encryption settings', effect: 'nothing is encrypted locally' },
  pointInTimeRecovery: { title: 'point-in-time recovery', effect: 'no backups are kept' },
  deletionProtection: { title: 'deletion protection', effect: 'everything is gone when the local cloud stops' },
  replication: { title: 'replication', effect: 'there is one local region' },
  tracing: { title: 'X-Ray tracing', effect: 'no traces are recorded' },
  logging: { title: 'logging and metrics settings', effect: 'no log groups, access logs or CloudWatch metrics (function output: .local/functions.log)' },
  platform: { title: 'runtime version and architecture', effect: "functions run on this machine's Node.js" },
  capacity: { title: 'capacity, concurrency and storage settings', effect: 'no such limits apply locally' },
  network: { title: 'endpoint and network settings', effect: 'everything is served by the one local endpoint' },
  accessControl: { title: 'access control', effect: 'not enforced locally' },
} as const;

export type NotEmulatedGroup = keyof typeof NOT_EMULATED_PROPERTY_GROUPS;

/**
 * What the local cloud does with one property value:
 * - honoured: read and acted on as AWS would;
 * - metadata: no runtime effect on AWS either (Description, Tags), so nothing to emulate;
 * - a group name: accepted without local effect, said once at start-up;
 * - warn: runs differently, harmlessly for local testing; said prominently at start-up;
 * - refuse: running without it would behave differently in a way a test could pass on, so the
 *   local cloud does not start.
 */
export type Verdict =
  | 'honoured'
  | 'metadata'
  | NotEmulatedGroup
  | { warn: string; property?: string }
  | { refuse: string; property?: string }
  | { group: NotEmulatedGroup; property: string };

export type PropertyRule = Verdict | ((value: unknown) => Verdict | Verdict[]);

const isTrue = (value: unknown) => value === true || value === 'true';
const asNumber = (value: unknown) => (value === undefined || value === null || value === '' ? undefined : Number(value));

const lambdaTarget = (arn: unknown) => typeof arn === 'string' && arn.split(':')[2] === 'lambda';

/** Per type the local cloud creates or runs: every property it knows, and what it does with it. */
export const PROPERTY_RULES: Record<string, Record<string, PropertyRule>> = {
  'AWS::Kinesis::Stream': {
    Name: 'honoured',
    ShardCount: 'honoured',
    RetentionPeriodHours: 'honoured',
    StreamModeDetails: (value) =>
      (value as { StreamMode?: unknown } | undefined)?.StreamMode === 'ON_DEMAND'
        ? // Harmless: the code under test sees shards either way; only their number differs.
          { warn: `ON_DEMAND runs with a fixed ${ON_DEMAND_LOCAL_SHARDS} shards locally` }
        : 'honoured',
    StreamEncryption: 'encryption',
    DesiredShardLevelMetrics: 'logging',
    Tags: 'metadata',
  },
  'AWS::DynamoDB::Table': {
    TableName: 'honoured',
    KeySchema: 'honoured',
    AttributeDefinitions: 'honoured',
    BillingMode: 'honoured',
    ProvisionedThroughput: 'honoured',
    GlobalSecondaryIndexes: 'honoured',
    LocalSecondaryIndexes: 'honoured',
    StreamSpecification: 'honoured',
    SSESpecification: 'encryption',
    PointInTimeRecoverySpecification: 'pointInTimeRecovery',
    DeletionProtectionEnabled: 'deletionProtection',
    ContributorInsightsSpecification: 'logging',
    TableClass: 'capacity',
    OnDemandThroughput: 'capacity',
    WarmThroughput: 'capacity',
    ResourcePolicy: 'accessControl',
    // Harmless: AWS deletes expired items lazily (within days), so no code may rely on it.
    TimeToLiveSpecification: (value) =>
      isTrue((value as { Enabled?: unknown } | undefined)?.Enabled) ? { warn: 'items never expire locally' } : 'honoured',
    KinesisStreamSpecification: { refuse: 'item changes are not written to the Kinesis stream locally' },
    ImportSourceSpecification: { refuse: 'the table would start empty locally, not with the imported items' },
    Tags: 'metadata',
  },
  'AWS::SQS::Queue': {
    QueueName: 'honoured',
    ...Object.fromEntries(QUEUE_ATTRIBUTES.map((name) => [name, 'honoured' as const])),
    RedrivePolicy: 'honoured',
    SqsManagedSseEnabled: 'encryption',
    KmsMasterKeyId: 'encryption',
    KmsDataKeyReusePeriodSeconds: 'encryption',
    RedriveAllowPolicy: 'accessControl',
    FifoThroughputLimit: 'capacity',
    // Per-group deduplication would drop, locally, messages AWS delivers.
    DeduplicationScope: (value) =>
      value === undefined || value === 'queue' ? 'honoured' : { refuse: 'the local queue deduplicates across the whole queue, not per message group' },
    Tags: 'metadata',
  },
  'AWS::SecretsManager::Secret': {
    Name: 'honoured',
    Description: 'metadata',
    SecretString: 'honoured',
    GenerateSecretString: 'honoured',
    KmsKeyId: 'encryption',
    ReplicaRegions: 'replication',
    Tags: 'metadata',
  },
  'AWS::S3::Bucket': {
    BucketName: 'honoured',
    BucketEncryption: 'encryption',
    PublicAccessBlockConfiguration: 'accessControl',
    OwnershipControls: 'accessControl',
    AccessControl: 'accessControl',
    LoggingConfiguration: 'logging',
    // Harmless for the pipeline: nothing here overwrites or deletes an archived object.
    VersioningConfiguration: { warn: 'objects are not versioned locally' },
    LifecycleConfiguration: { warn: 'lifecycle rules are not applied locally (one storage class, nothing expires)' },
    NotificationConfiguration: { refuse: 'bucket notifications are not sent locally' },
    ObjectLockEnabled: { refuse: 'object lock is not enforced locally' },
    ObjectLockConfiguration: { refuse: 'object lock is not enforced locally' },
    Tags: 'metadata',
  },
  'AWS::KinesisFirehose::DeliveryStream': {
    DeliveryStreamName: 'honoured',
    DeliveryStreamType: (value) =>
      value === 'KinesisStreamAsSource' ? 'honoured' : { refuse: 'the local Firehose reads a Kinesis stream (KinesisStreamAsSource) only' },
    KinesisStreamSourceConfiguration: 'honoured',
    ExtendedS3DestinationConfiguration: (value) => {
      const config = (value ?? {}) as Record<string, unknown>;
      const verdicts: Verdict[] = ['honoured'];
      const at = (name: string) => `ExtendedS3DestinationConfiguration.${name}`;
      const honoured = ['BucketARN', 'Prefix', 'ErrorOutputPrefix', 'BufferingHints', 'CompressionFormat', 'ProcessingConfiguration'];
      for (const [name, setting] of Object.entries(config)) {
        if (honoured.includes(name)) continue;
        if (name === 'RoleARN') verdicts.push({ group: 'accessControl', property: at(name) });
        else if (name === 'CloudWatchLoggingOptions') verdicts.push({ group: 'logging', property: at(name) });
        else if (name === 'EncryptionConfiguration') verdicts.push({ group: 'encryption', property: at(name) });
        else if (name === 'S3BackupMode' && setting === 'Disabled') continue;
        else verdicts.push({ refuse: 'not done by the local Firehose', property: at(name) });
      }
      const compression = config.CompressionFormat;
      if (compression !== undefined && compression !== 'GZIP' && compression !== 'UNCOMPRESSED') {
        verdicts.push({ refuse: 'the local Firehose writes GZIP or UNCOMPRESSED objects', property: at('CompressionFormat') });
      }
      const processing = config.ProcessingConfiguration as { Processors?: Array<{ Type?: unknown }> } | undefined;
      for (const processor of processing?.Processors ?? []) {
        if (processor.Type !== 'AppendDelimiterToRecord') {
          verdicts.push({ refuse: `${String(processor.Type)} processors are not run locally (AppendDelimiterToRecord is)`, property: at('ProcessingConfiguration') });
        }
      }
      return verdicts;
    },
    DeliveryStreamEncryptionConfigurationInput: 'encryption',
    Tags: 'metadata',
  },
  'AWS::RDS::DBCluster': {
    Engine: (value) => (value === 'aurora-postgresql' ? 'honoured' : { refuse: 'only aurora-postgresql runs locally (PGlite is PostgreSQL)' }),
    // Without the Data API nothing could reach the cluster on AWS; locally it would still answer.
    EnableHttpEndpoint: (value) => (isTrue(value) ? 'honoured' : { refuse: 'the local cluster is reached only through the RDS Data API, which AWS would not serve without it' }),
    DatabaseName: 'honoured',
    EngineVersion: 'platform',
    DBClusterParameterGroupName: 'platform',
    MasterUsername: 'accessControl',
    MasterUserPassword: 'accessControl',
    ServerlessV2ScalingConfiguration: 'capacity',
    StorageEncrypted: 'encryption',
    KmsKeyId: 'encryption',
    BackupRetentionPeriod: 'pointInTimeRecovery',
    PreferredBackupWindow: 'pointInTimeRecovery',
    DeletionProtection: 'deletionProtection',
    DBSubnetGroupName: 'network',
    VpcSecurityGroupIds: 'network',
    Port: 'network',
    CopyTagsToSnapshot: 'metadata',
    Tags: 'metadata',
  },
  'Custom::SqlSchema': {
    // Locally the migrations run in process (tools/local-cloud/sql-schema.ts) instead of through the Provider framework.
    ServiceToken: 'honoured',
    ClusterArn: 'honoured',
    SecretArn: 'honoured',
    DatabaseName: 'honoured',
    SchemaVersion: 'metadata',
    MigrationsSha256: 'metadata',
  },
  'AWS::Lambda::Function': {
    __assetDir: 'honoured',
    FunctionName: 'honoured',
    Code: 'honoured',
    Handler: 'honoured',
    Timeout: 'honoured',
    MemorySize: 'honoured',
    Environment: 'honoured',
    // Its ARN is what the event source mappings report; IAM itself is not enforced.
    Role: 'honoured',
    Runtime: (value) =>
      typeof value === 'string' && value.startsWith('nodejs') ? 'platform' : { refuse: 'the local runtime runs Node.js functions only' },
    Architectures: 'platform',
    SnapStart: 'platform',
    RuntimeManagementConfig: 'platform',
    LoggingConfig: 'logging',
    TracingConfig: 'tracing',
    ReservedConcurrentExecutions: 'capacity',
    EphemeralStorage: 'capacity',
    VpcConfig: 'network',
    KmsKeyArn: 'encryption',
    CodeSigningConfigArn: 'accessControl',
    Layers: { refuse: "layers are not loaded locally; the function's bundle must hold all its code" },
    DeadLetterConfig: { refuse: 'failed asynchronous invocations are not sent to a dead-letter target locally' },
    FileSystemConfigs: { refuse: 'file systems are not mounted locally' },
    ImageConfig: { refuse: 'container images are not run locally' },
    PackageType: (value) => (value === 'Image' ? { refuse: 'container images are not run locally' } : 'honoured'),
    Description: 'metadata',
    Tags: 'metadata',
  },
  'AWS::Lambda::EventSourceMapping': {
    EventSourceArn: (value) => {
      const service = typeof value === 'string' ? value.split(':')[2] : undefined;
      return service === 'kinesis' || service === 'sqs' ? 'honoured' : { refuse: 'the local cloud runs Kinesis and SQS event sources only' };
    },
    FunctionName: 'honoured',
    Enabled: 'honoured',
    BatchSize: 'honoured',
    MaximumBatchingWindowInSeconds: 'honoured',
    StartingPosition: 'honoured',
    StartingPositionTimestamp: 'honoured',
    FunctionResponseTypes: 'honoured',
    BisectBatchOnFunctionError: 'honoured',
    MaximumRetryAttempts: 'honoured',
    MaximumRecordAgeInSeconds: 'honoured',
    // The local poller runs one batch per shard at a time; more at once changes ordering and
    // breaks the loader's exactly-once aggregates (docs/architecture.md), so 2 must not run as 1.
    ParallelizationFactor: (value) =>
      (asNumber(value) ?? 1) === 1 ? 'honoured' : { refuse: 'the local poller runs one batch per shard at a time (ParallelizationFactor 1)' },
    // Records the filter would drop would reach the function locally.
    FilterCriteria: (value) =>
      ((value as { Filters?: unknown[] } | undefined)?.Filters ?? []).length === 0
        ? 'honoured'
        : { refuse: 'records are not filtered locally; the function would get records AWS drops' },
    TumblingWindowInSeconds: (value) =>
      (asNumber(value) ?? 0) === 0 ? 'honoured' : { refuse: 'tumbling windows (state carried between invocations) are not emulated' },
    DestinationConfig: (value) => {
      const config = (value ?? {}) as { OnFailure?: { Destination?: unknown }; OnSuccess?: unknown };
      const verdicts: Verdict[] = [];
      const onFailure = config.OnFailure?.Destination;
      if (onFailure !== undefined) {
        verdicts.push(
          typeof onFailure === 'string' && onFailure.split(':')[2] === 'sqs'
            ? 'honoured'
            : { refuse: 'on-failure records go to SQS queues only locally', property: 'DestinationConfig.OnFailure' },
        );
      }
      if (config.OnSuccess !== undefined) verdicts.push({ refuse: 'on-success destinations are not emulated', property: 'DestinationConfig.OnSuccess' });
      return verdicts.length > 0 ? verdicts : 'honoured';
    },
    ScalingConfig: 'capacity',
    ProvisionedPollerConfig: 'capacity',
    MetricsConfig: 'logging',
    KmsKeyArn: 'encryption',
    Tags: 'metadata',
  },
  'AWS::ApiGateway::RestApi': {
    Name: 'honoured',
    BinaryMediaTypes: 'honoured',
    ApiKeySourceType: (value) =>
      value === undefined || value === 'HEADER' ? 'honoured' : { refuse: 'the local API reads API keys from the x-api-key header only' },
    EndpointConfiguration: 'network',
    DisableExecuteApiEndpoint: 'network',
    MinimumCompressionSize: 'network',
    Policy: 'accessControl',
    Body: { refuse: 'an OpenAPI body is not read locally; declare resources and methods' },
    BodyS3Location: { refuse: 'an OpenAPI body is not read locally; declare resources and methods' },
    CloneFrom: { refuse: 'cloned APIs are not read locally; declare resources and methods' },
    Description: 'metadata',
    Tags: 'metadata',
  },
  'AWS::ApiGateway::Resource': { RestApiId: 'honoured', ParentId: 'honoured', PathPart: 'honoured' },
  'AWS::ApiGateway::Method': {
    RestApiId: 'honoured',
    ResourceId: 'honoured',
    HttpMethod: 'honoured',
    ApiKeyRequired: 'honoured',
    MethodResponses: 'honoured',
    Integration: (value) => {
      const type = (value as { Type?: unknown } | undefined)?.Type;
      return type === 'AWS_PROXY' || type === 'MOCK' ? 'honoured' : { refuse: `${String(type)} integrations are not run locally (AWS_PROXY and MOCK are)` };
    },
    // Requests AWS would refuse would reach the function locally.
    AuthorizationType: (value) =>
      value === undefined || value === 'NONE' ? 'honoured' : { refuse: 'requests are not authorized locally' },
    AuthorizerId: { refuse: 'requests are not authorized locally' },
    AuthorizationScopes: { refuse: 'requests are not authorized locally' },
    RequestValidatorId: { refuse: 'requests are not validated locally' },
    // Only a request validator acts on these.
    RequestParameters: 'metadata',
    RequestModels: 'metadata',
    OperationName: 'metadata',
  },
  'AWS::ApiGateway::Deployment': {
    RestApiId: 'honoured',
    StageName: 'honoured',
    StageDescription: { warn: "a deployment's stage settings are not read locally" },
    DeploymentCanarySettings: { warn: 'every request goes to the deployment locally, none to a canary' },
    Description: 'metadata',
  },
  'AWS::ApiGateway::Stage': {
    RestApiId: 'honoured',
    StageName: 'honoured',
    DeploymentId: 'honoured',
    Variables: 'honoured',
    MethodSettings: (value) => {
      const verdicts: Verdict[] = ['honoured'];
      for (const setting of Array.isArray(value) ? (value as Array<Record<string, unknown>>) : []) {
        if (['LoggingLevel', 'DataTraceEnabled', 'MetricsEnabled'].some((name) => setting[name] !== undefined)) {
          verdicts.push({ group: 'logging', property: 'MethodSettings logging/metrics' });
        }
        // Harmless: a cache only serves what the function returned before.
        if (isTrue(setting.CachingEnabled)) verdicts.push({ warn: 'responses are not cached locally', property: 'MethodSettings.CachingEnabled' });
      }
      return verdicts;
    },
    AccessLogSetting: 'logging',
    TracingEnabled: 'tracing',
    CacheClusterEnabled: (value) => (isTrue(value) ? { warn: 'responses are not cached locally' } : 'honoured'),
    CacheClusterSize: 'capacity',
    ClientCertificateId: 'accessControl',
    CanarySetting: { warn: 'every request goes to the stage deployment locally, none to a canary' },
    DocumentationVersion: 'metadata',
    Description: 'metadata',
    Tags: 'metadata',
  },
  'AWS::ApiGateway::ApiKey': {
    Value: 'honoured',
    Enabled: 'honoured',
    // Locally a key is checked through its usage plans only.
    StageKeys: 'accessControl',
    Name: 'metadata',
    CustomerId: 'metadata',
    GenerateDistinctId: 'metadata',
    Description: 'metadata',
    Tags: 'metadata',
  },
  'AWS::ApiGateway::UsagePlan': {
    ApiStages: 'honoured',
    Throttle: 'honoured',
    Quota: 'honoured',
    UsagePlanName: 'metadata',
    Description: 'metadata',
    Tags: 'metadata',
  },
  'AWS::ApiGateway::UsagePlanKey': { KeyId: 'honoured', KeyType: 'honoured', UsagePlanId: 'honoured' },
  'AWS::Events::Rule': {
    ScheduleExpression: 'honoured',
    State: 'honoured',
    Name: 'honoured',
    // Nothing emits events locally, so such a rule never fires; it may well be an operations rule.
    EventPattern: { warn: 'event patterns are not evaluated locally; the rule never fires' },
    EventBusName: (value) => (value === undefined || value === 'default' ? 'honoured' : { warn: 'there is only the default event bus locally' }),
    RoleArn: 'accessControl',
    Targets: (value) => {
      const verdicts: Verdict[] = ['honoured'];
      for (const target of Array.isArray(value) ? (value as Array<Record<string, unknown>>) : []) {
        const at = (name: string) => `Targets[${String(target.Id ?? '?')}].${name}`;
        if (!lambdaTarget(target.Arn)) verdicts.push({ refuse: 'only Lambda function targets are invoked locally', property: at('Arn') });
        for (const name of ['InputPath', 'InputTransformer']) {
          if (target[name] !== undefined) verdicts.push({ refuse: 'the target would get a different event locally', property: at(name) });
        }
        const retries = asNumber((target.RetryPolicy as { MaximumRetryAttempts?: unknown } | undefined)?.MaximumRetryAttempts);
        // Harmless: a failed scheduled run is logged; the next firing runs again.
        if (retries !== undefined && retries > 0) verdicts.push({ warn: 'failed invocations are not retried locally', property: at('RetryPolicy') });
        if (target.DeadLetterConfig !== undefined) {
          verdicts.push({ refuse: 'failed invocations are not sent to a dead-letter queue locally', property: at('DeadLetterConfig') });
        }
        if (target.RoleArn !== undefined) verdicts.push({ group: 'accessControl', property: at('RoleArn') });
      }
      return verdicts;
    },
    Description: 'metadata',
    Tags: 'metadata',
  },
};
