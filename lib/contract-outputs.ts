/**
 * Contract §4: the stack outputs every run writes, deployed or local. The stack emits them, the
 * local cloud checks its template has them, the CLI requires them in an outputs file.
 */
export const CONTRACT_OUTPUTS = [
  'IngestUrl',
  'ApiKeyId',
  'RawStreamName',
  'ProcessedStreamName',
  'EventsTableName',
  'AggregatesTableName',
  'DeadLetterQueueUrl',
  'RedriveQueueUrl',
] as const;

export type ContractOutput = (typeof CONTRACT_OUTPUTS)[number];

/** What the local run adds: one endpoint for every service, and the API key's value. */
export const LOCAL_OUTPUTS = ['AwsEndpoint', 'ApiKeyValue'] as const;
