/**
 * The shape of each function's `permissions.ts`: every AWS action the function's own code calls,
 * by service and by the resource it calls it on (named by its construct id, as in
 * docs/architecture.md). Only these names, no wildcards: lib/constructs grants exactly this
 * list on exactly these resources, test/infra/iam.test.ts holds each role to it, and
 * test/unit/permissions/sdk-calls.test.ts holds it to the SDK commands the code imports.
 * What Lambda itself does with the role (event source polling, on-failure destinations, logs,
 * X-Ray) is granted by the constructs, not listed here.
 *
 * Type-only for the handlers: nothing here is bundled into a function.
 */
export type StreamName = 'RawStream' | 'ProcessedStream';
export type TableName = 'EventsTable' | 'AggregatesTable';
export type QueueName = 'DeadLetterQueue' | 'RedriveQueue' | 'StreamFailureQueue';
export type SecretName = 'ApiKeySecret' | 'AuroraSecret';
export type DatabaseName = 'AuroraCluster';

export type KinesisAction = 'kinesis:PutRecords' | 'kinesis:PutRecord';
export type DynamoDbAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:ConditionCheckItem'
  | 'dynamodb:Query'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:BatchWriteItem';
export type SqsAction = 'sqs:SendMessage';
export type SecretsManagerAction = 'secretsmanager:GetSecretValue';
/** The RDS Data API: authorized on the cluster ARN (the secret is read with the caller's GetSecretValue). */
export type RdsDataAction =
  | 'rds-data:ExecuteStatement'
  | 'rds-data:BatchExecuteStatement'
  | 'rds-data:BeginTransaction'
  | 'rds-data:CommitTransaction'
  | 'rds-data:RollbackTransaction';

export interface FunctionPermissions {
  readonly kinesis?: Readonly<Partial<Record<StreamName, readonly KinesisAction[]>>>;
  readonly dynamodb?: Readonly<Partial<Record<TableName, readonly DynamoDbAction[]>>>;
  readonly sqs?: Readonly<Partial<Record<QueueName, readonly SqsAction[]>>>;
  readonly secretsmanager?: Readonly<Partial<Record<SecretName, readonly SecretsManagerAction[]>>>;
  readonly 'rds-data'?: Readonly<Partial<Record<DatabaseName, readonly RdsDataAction[]>>>;
}

/** Every action a list names, whatever the resource. */
export function actionsOf(permissions: FunctionPermissions): string[] {
  return [
    ...new Set(
      Object.values(permissions).flatMap((byResource: Record<string, readonly string[]>) => Object.values(byResource).flat()),
    ),
  ].sort();
}
